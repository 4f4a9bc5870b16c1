"""Questionnaire publishing from the admin pages: checks with lines, drafts, diffs, one publishing path."""

from __future__ import annotations

import html
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from survey_app.models import (
    Answer,
    AuditEvent,
    QuestionnaireDraft,
    QuestionnaireKey,
    QuestionnaireVersion,
    StaffUser,
)
from survey_app.questionnaires.registry import publication_problems, read_manifest
from survey_app.questionnaires.yaml_source import MAX_FILE_BYTES
from survey_app.services import questionnaire_publishing as publishing_module
from survey_app.services.questionnaire_publishing import (
    DraftNotPublishable,
    UploadCheck,
    check_upload,
    example_results,
    previous_version_diff,
    publishing_draft,
    save_draft,
)
from tests.admin.conftest import AdminWorld
from tests.admin.support import FOLLOW_UP, REWORDED, new_form, who5_v2

Builder = Callable[..., Any]


@pytest.fixture(autouse=True)
def own_bank(db: SQLAlchemy, world: AdminWorld) -> None:
    """Here WHO-5 and RSES are the organisation's own, so its admin publishes their next versions.

    The next version of a shared questionnaire is refused: see test_questionnaire_owners.py.
    """
    for key in ("who5", "rses"):
        db.session.add(QuestionnaireKey(key=key, organisation_id=world.organisation.id))
    db.session.flush()


def _check(db: SQLAlchemy, admin: StaffUser, folder: Path, raw: bytes, name: str) -> UploadCheck:
    """An upload checked for the admin's organisation."""
    return check_upload(db.session, folder, raw, name, organisation_id=admin.organisation_id)


def _drafts(db: SQLAlchemy) -> int:
    return int(db.session.scalar(select(func.count()).select_from(QuestionnaireDraft)) or 0)


def _upload(post: Builder, files: dict[str, Any]) -> Any:
    """Send the upload form as a browser does (multipart), from the questionnaires page."""
    return post(
        "/admin/questionnaires/drafts",
        files,
        page="/admin/questionnaires",
        content_type="multipart/form-data",
    )


def _draft(
    db: SQLAlchemy, world: AdminWorld, folder: Path, text: str, name: str = "v2.yaml"
) -> QuestionnaireDraft:
    checked = _check(db, world.admin, folder, text.encode("utf-8"), name)
    assert checked.problems == []
    return save_draft(db.session, world.admin, checked, name)


# ---------------------------------------------------------------- checking an upload
def test_the_next_version_passes_with_its_examples_scored_and_its_diff(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path
) -> None:
    checked = _check(db, world.admin, questionnaire_dir, who5_v2().encode("utf-8"), "v2.yaml")
    assert checked.problems == [] and checked.questionnaire is not None
    questionnaire = checked.questionnaire
    results = example_results(questionnaire)
    assert [r.result.scales["raw"].value for r in results][:2] == [12, 21]
    assert all(r.expected["raw"] == r.result.scales["raw"].value for r in results)
    diff = previous_version_diff(questionnaire_dir, questionnaire)
    assert diff is not None and (diff.old_version, diff.new_version) == (1, 2)
    kinds = {(change.kind, change.item_id) for change in diff.items}
    assert {("reworded", "who5_calm"), ("added", "who5_hard")} <= kinds
    assert all(scale.comparable and scale.declared for scale in diff.scales)


HOSTILE = {
    "an alias": ("key: &k who5\nother: *k\n", "anchors (&name) are not allowed", 1),
    "a billion laughs": ('a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n', "are not allowed", 1),
    "deep nesting": (
        "a:\n" + "".join("  " * depth + "- \n" for depth in range(1, 20)),
        "nesting is deeper",
        None,
    ),
    "a tag": ("key: !!python/object:os.system echo\n", "tags (", 1),
    "two documents": ("key: a\n---\nkey: b\n", "exactly one YAML document", 2),
    "malformed YAML": ("key: [unclosed\nversion: 1\n", "malformed YAML", None),
    "a duplicate key": ("key: who5\nkey: who5\n", "duplicate key 'key'", 2),
    "unknown keys": ("format: 1\nkey: x\nversion: 1\ncolour: red\n", "unknown key 'colour'", 4),
    "an escaped zero byte": ('key: x\ntitle: {en: "a\\0b"}\n', "cannot be shown (U+0000)", 2),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_text_is_refused_with_its_line_and_nothing_is_saved(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, case: str
) -> None:
    text, message, line = HOSTILE[case]
    checked = _check(db, world.admin, questionnaire_dir, text.encode("utf-8"), "upload.yaml")
    assert checked.questionnaire is None
    assert any(message in problem.message for problem in checked.problems), checked.problems
    if line is not None:
        assert any(problem.line == line for problem in checked.problems)
    assert _drafts(db) == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"key: who5\n" + b"#" * MAX_FILE_BYTES, "a questionnaire may be at most 262,144 bytes"),
        (b"key: who5\x00\x01\x02", "file is binary"),
        (b"key: caf\xe9\n", "not UTF-8"),
        (b"", "file is empty"),
    ],
)
def test_huge_binary_and_not_utf8_files_are_refused(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, raw: bytes, message: str
) -> None:
    checked = _check(db, world.admin, questionnaire_dir, raw, "upload.yaml")
    assert checked.questionnaire is None and message in checked.problems[0].message


def test_every_problem_of_a_file_is_listed_at_once_with_lines(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path
) -> None:
    text = (
        who5_v2()
        .replace("type: single_choice", "type: single_choise", 2)
        .replace("who5_interest]", "who5_bored]")
    )
    checked = _check(db, world.admin, questionnaire_dir, text.encode("utf-8"), "v2.yaml")
    assert len(checked.problems) >= 2 and all(problem.line for problem in checked.problems)
    assert checked.line(checked.problems[0].line) is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("version: 2\n", "version: 5\n"), "the next version of 'who5' is 2, not 5"),
        (("version: 2\n", "version: 1\n"), "the next version of 'who5' is 2, not 1"),
    ],
)
def test_only_the_next_version_can_be_published(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, change: tuple[str, str], message: str
) -> None:
    declaration = "comparable_with:\n  - version: 1\n    note: Item 2 reworded after cognitive interviews.\n"
    text = who5_v2().replace(*change, 1).replace(declaration, "")
    checked = _check(db, world.admin, questionnaire_dir, text.encode("utf-8"), "v.yaml")
    assert any(message in problem.message for problem in checked.problems), checked.problems


def test_failing_examples_are_problems(db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path) -> None:
    text = who5_v2().replace("raw: {value: 12,", "raw: {value: 13,", 1)
    checked = _check(db, world.admin, questionnaire_dir, text.encode("utf-8"), "v2.yaml")
    assert any("expected 13" in problem.message for problem in checked.problems)


# ---------------------------------------------------------------- publishing
def test_publishing_a_draft_writes_the_file_records_its_hash_and_stores_the_version(
    app: Flask, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    with publishing_draft(db.session, world.admin, draft, questionnaire_dir) as published:
        pass
    path = questionnaire_dir / "who5" / "v2.yaml"
    assert path.read_text(encoding="utf-8") == who5_v2()
    assert read_manifest(questionnaire_dir)["who5/v2.yaml"] == published.entry.digest
    assert publication_problems(questionnaire_dir) == []
    stored = select(QuestionnaireVersion).where(
        QuestionnaireVersion.key == "who5", QuestionnaireVersion.version == 2
    )
    row = db.session.scalar(stored)
    assert row is not None and row.published_by == world.admin.id and REWORDED in row.source_yaml
    assert _drafts(db) == 0
    actions = {
        event.action: event for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    }
    assert actions["questionnaire.draft_publish"].actor_id == world.admin.id
    assert actions["questionnaire.publish"].details == {"key": "who5", "version": 2,
                                                         "content_hash": published.entry.digest}  # fmt: skip


def test_a_publication_that_fails_leaves_neither_file_nor_manifest_entry(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    manifest = read_manifest(questionnaire_dir)

    def refused(*_args: Any, **_options: Any) -> None:
        raise IntegrityError("INSERT", {}, Exception("the database refuses the version"))

    monkeypatch.setattr(publishing_module, "store_version", refused)
    with (
        pytest.raises(IntegrityError),
        db.session.begin_nested(),
        publishing_draft(db.session, world.admin, draft, questionnaire_dir),
    ):
        pass
    assert not (questionnaire_dir / "who5" / "v2.yaml").exists()
    assert read_manifest(questionnaire_dir) == manifest


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_a_draft_whose_version_another_admin_published_meanwhile_says_what_to_do(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder, language: str
) -> None:
    first, second = (_draft(db, world, questionnaire_dir, who5_v2()) for _ in range(2))
    with publishing_draft(db.session, world.admin, first, questionnaire_dir):
        pass
    published = (questionnaire_dir / "who5" / "v2.yaml").read_bytes()
    page = f"/admin/questionnaires/drafts/{second.id}"
    response = post(
        f"{page}/publish", {"content_hash": second.content_hash}, page=page,
        headers={"Accept-Language": language},
    )  # fmt: skip
    shown = text_of(response)
    expected = {
        "en": "who5 v2 was published meanwhile. Discard this draft, and check your file again as version 3.",
        "nl": "who5 v2 werd intussen gepubliceerd. Gooi dit ontwerp weg en controleer uw bestand opnieuw "
        "als versie 3.",
        "fr": "who5 v2 a été publiée entre-temps. Abandonnez ce brouillon et vérifiez à nouveau votre "
        "fichier comme version 3.",
    }[language]
    assert response.status_code == 409 and expected in shown, shown
    assert "exists already" not in shown
    assert (questionnaire_dir / "who5" / "v2.yaml").read_bytes() == published
    assert _drafts(db) == 1


def test_the_page_of_a_draft_whose_version_was_published_meanwhile_says_so_before_publishing(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, text_of: Builder
) -> None:
    first, second = (_draft(db, world, questionnaire_dir, who5_v2()) for _ in range(2))
    shown = text_of(client.get(f"/admin/questionnaires/drafts/{second.id}"))
    assert "published meanwhile" not in shown
    with publishing_draft(db.session, world.admin, first, questionnaire_dir):
        pass
    shown = text_of(
        client.get(f"/admin/questionnaires/drafts/{second.id}", headers={"Accept-Language": "nl"})
    )
    assert "who5 v2 werd intussen gepubliceerd. Gooi dit ontwerp weg" in shown


def test_a_draft_whose_version_is_stored_already_is_refused_without_writing_a_file(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, make_questionnaire_version: Builder,
    post: Builder, text_of: Builder,
) -> None:  # fmt: skip
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    manifest = read_manifest(questionnaire_dir)
    make_questionnaire_version("who5", 2)  # published on the command line of another server meanwhile
    page = f"/admin/questionnaires/drafts/{draft.id}"
    response = post(f"{page}/publish", {"content_hash": draft.content_hash}, page=page)
    assert response.status_code == 409
    assert "who5 v2 was published meanwhile" in text_of(response)
    assert not (questionnaire_dir / "who5" / "v2.yaml").exists()
    assert read_manifest(questionnaire_dir) == manifest


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_a_read_only_questionnaire_folder_is_said_so(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path
) -> None:
    draft = _draft(db, world, questionnaire_dir, new_form())
    questionnaire_dir.chmod(0o555)
    try:
        with (
            pytest.raises(DraftNotPublishable, match="cannot be written on this server"),
            publishing_draft(db.session, world.admin, draft, questionnaire_dir),
        ):
            pass
    finally:
        questionnaire_dir.chmod(0o755)
    assert not (questionnaire_dir / "pilot").exists()


def test_a_read_only_questionnaire_folder_is_said_so_on_the_page_in_the_admins_language(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    draft = _draft(db, world, questionnaire_dir, new_form())
    folder = str(questionnaire_dir)
    writable = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if str(path) == folder else writable(path, mode)
    )
    page = f"/admin/questionnaires/drafts/{draft.id}"
    response = post(
        f"{page}/publish", {"content_hash": draft.content_hash}, page=page, headers={"Accept-Language": "fr"}
    )
    shown = text_of(response)
    assert response.status_code == 409, shown
    assert "Le dossier des questionnaires ne peut pas être modifié sur ce serveur." in shown
    assert "read-only" not in shown
    assert not (questionnaire_dir / "pilot").exists() and _drafts(db) == 1


# ---------------------------------------------------------------- the pages
def test_uploading_a_file_leads_to_its_draft_with_preview_examples_and_diff(
    client: FlaskClient,
    db: SQLAlchemy,
    world: AdminWorld,
    questionnaire_dir: Path,
    post: Builder,
    text_of: Builder,
) -> None:
    upload = {"file": (io.BytesIO(who5_v2().encode("utf-8")), "who5-v2.yaml"), "source": ""}
    response = _upload(post, upload)
    assert response.status_code == 302
    page = client.get(response.location)
    shown = text_of(page)
    assert "WHO-5 Well-Being Index who5 v2" in shown and "no problems found" in shown
    assert "reworded who5_calm" in shown and "added who5_hard" in shown and "yes, declared" in shown
    assert "all answered, low well-being" in shown
    html = page.get_data(as_text=True)
    assert html.count("<iframe") == 2 and "/frame/tablet/en/0" in html and "/frame/phone/en/0" in html
    assert "/frame/tablet/nl/0" in client.get(response.location + "?lang=nl").get_data(as_text=True)


def test_pasted_text_is_checked_like_a_file(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder
) -> None:
    response = post("/admin/questionnaires/drafts", {"source": new_form()}, page="/admin/questionnaires")
    assert response.status_code == 302
    draft = db.session.scalar(select(QuestionnaireDraft))
    assert draft is not None and (draft.key, draft.version, draft.file_name) == ("pilot", 1, "pasted text")


def _pasted_back(response: Any) -> str:
    """The text in the page's paste box, as the browser shows it again."""
    match = re.search(r"<textarea[^>]*>(.*?)</textarea>", response.get_data(as_text=True), re.DOTALL)
    assert match, "no paste box on the page"
    return html.unescape(match.group(1)).lstrip("\r\n")


def test_a_pasted_text_with_problems_stays_in_the_box_to_correct(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder
) -> None:
    pasted = new_form().replace("version: 1\n", "version: one\n", 1)
    response = post("/admin/questionnaires/drafts", {"source": pasted}, page="/admin/questionnaires")
    assert response.status_code == 422 and "Correct the file and check it again." in text_of(response)
    assert _pasted_back(response) == pasted
    assert _drafts(db) == 0


@pytest.mark.parametrize(
    ("language", "problems", "draft_from"),
    [
        ("en", "pasted text has 1 problem.", "Draft from pasted text,"),
        ("nl", "geplakte tekst heeft 1 probleem.", "Ontwerp uit geplakte tekst,"),
        ("fr", "texte collé a 1 problème.", "Brouillon issu de texte collé,"),
    ],
)
def test_a_pasted_text_is_named_in_the_admins_language(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder,
    text_of: Builder, language: str, problems: str, draft_from: str,
) -> None:  # fmt: skip
    headers = {"Accept-Language": language}
    bad = new_form().replace("version: 1\n", "version: one\n", 1)
    refused = post(
        "/admin/questionnaires/drafts", {"source": bad}, page="/admin/questionnaires", headers=headers
    )
    assert refused.status_code == 422 and problems in text_of(refused)
    kept = post("/admin/questionnaires/drafts", {"source": new_form()}, page="/admin/questionnaires")
    assert draft_from in text_of(client.get(kept.location, headers=headers))
    listed = text_of(client.get("/admin/questionnaires", headers=headers))
    assert ("pasted text" in listed) == (language == "en")


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_upload_shows_its_problems_and_saves_nothing(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder, case: str
) -> None:
    text, message, _line = HOSTILE[case]
    upload = {"file": (io.BytesIO(text.encode("utf-8")), "evil.yaml")}
    response = _upload(post, upload)
    shown = text_of(response)
    assert response.status_code == 422 and "evil.yaml has" in shown and "Nothing was saved." in shown
    assert message.replace("'", "'") in shown
    assert _drafts(db) == 0


def test_a_version_written_with_a_decimal_point_is_listed_at_upload_and_nothing_is_saved(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder
) -> None:
    source = who5_v2().replace("version: 2\n", "version: 2.0\n", 1)
    line = source.splitlines().index("version: 2.0") + 1
    response = _upload(post, {"file": (io.BytesIO(source.encode("utf-8")), "v2.yaml")})
    shown = text_of(response)
    assert response.status_code == 422 and "Nothing was saved." in shown
    assert f"{line} version: 2.0 expected a whole number, got 2.0" in shown
    assert _drafts(db) == 0


def test_an_upload_whose_comparable_with_names_a_missing_item_is_refused_as_lint_refuses_it(
    app: Flask, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder
) -> None:
    source = who5_v2().replace("  - version: 1\n", "  - version: 1\n    items: {who5_calm: who5_gone}\n", 1)
    line = source.splitlines().index("comparable_with:") + 1
    (problem,) = _check(db, world.admin, questionnaire_dir, source.encode("utf-8"), "v2.yaml").problems
    assert (problem.line, "who5_gone" in problem.message) == (line, True)
    response = _upload(post, {"file": (io.BytesIO(source.encode("utf-8")), "v2.yaml")})
    shown = text_of(response)
    assert response.status_code == 422 and "Nothing was saved." in shown and problem.message in shown
    assert _drafts(db) == 0
    written = questionnaire_dir / "who5" / "v2.yaml"
    written.write_text(source, encoding="utf-8")
    linted = app.test_cli_runner().invoke(args=["questionnaires", "lint", str(written)])
    assert problem.message in linted.output


def test_a_binary_upload_and_an_empty_form_say_what_to_do(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder
) -> None:
    binary = {"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00"), "picture.png")}
    response = _upload(post, binary)
    assert response.status_code == 422 and "file is binary" in text_of(response)
    empty = post("/admin/questionnaires/drafts", {}, page="/admin/questionnaires")
    assert empty.status_code == 422 and "Choose a YAML file, or paste its text." in text_of(empty)
    both = {"file": (io.BytesIO(b"key: x"), "x.yaml"), "source": "key: y"}
    response = _upload(post, both)
    assert response.status_code == 422 and "not both" in text_of(response)
    assert _drafts(db) == 0


def test_an_upload_larger_than_the_server_takes_is_refused_clearly(
    db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder, text_of: Builder
) -> None:
    huge = {"source": "#" * (3 * 1024 * 1024)}  # over the server's 2 MB limit for any request
    response = post("/admin/questionnaires/drafts", huge, page="/admin/questionnaires")
    assert response.status_code == 413 and "at most 256 KB. Nothing was saved." in text_of(response)
    assert _drafts(db) == 0


def test_publishing_from_the_page(
    client: FlaskClient,
    db: SQLAlchemy,
    world: AdminWorld,
    questionnaire_dir: Path,
    post: Builder,
    text_of: Builder,
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    page = f"/admin/questionnaires/drafts/{draft.id}"
    assert post(f"{page}/publish", {"content_hash": "0" * 64}, page=page).status_code == 409
    response = post(f"{page}/publish", {"content_hash": draft.content_hash}, page=page)
    assert response.status_code == 302
    assert "who5 v2 is published" in text_of(client.get(response.location))
    assert (questionnaire_dir / "who5" / "v2.yaml").exists()
    assert client.get(page).status_code == 404  # the draft is gone once published


def test_a_draft_of_another_organisation_is_not_found(
    db: SQLAlchemy, client: FlaskClient, world: AdminWorld, questionnaire_dir: Path, post: Builder,
    make_staff: Builder,
) -> None:  # fmt: skip
    stranger = make_staff("admin")
    checked = _check(db, stranger, questionnaire_dir, new_form().encode(), "v1.yaml")
    draft = save_draft(db.session, stranger, checked, "v1.yaml")
    page = f"/admin/questionnaires/drafts/{draft.id}"
    assert client.get(page).status_code == 404
    assert client.get(f"{page}/frame/tablet/en/0").status_code == 404
    assert post(f"{page}/publish", {"content_hash": draft.content_hash}).status_code == 404
    assert post(f"{page}/discard").status_code == 404
    assert _drafts(db) == 1 and not (questionnaire_dir / "pilot").exists()


def test_no_page_changes_or_removes_a_published_version(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}
        if rule.rule.startswith("/admin/"):
            assert methods <= {"POST"}, rule.rule
        if rule.rule.startswith("/admin/questionnaires") and methods:
            assert rule.rule.startswith("/admin/questionnaires/drafts"), rule.rule


# ---------------------------------------------------------------- the preview
def test_the_preview_is_the_clients_page_with_every_screen_and_the_preview_script_settings(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    response = client.get(f"/admin/questionnaires/drafts/{draft.id}/frame/tablet/nl/0")
    assert response.status_code == 200
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = response.get_data(as_text=True)
    assert 'class="cq-form"' in html and "js/client/app.js" in html and "js/client/logic.js" in html
    assert html.count('class="cq-screen"') == 7  # the instructions and six items, all in one page
    assert "De afgelopen twee weken voelde ik me opgewekt" in html and '<html lang="nl">' in html
    config = json.loads(html.split('id="client-config">', 1)[1].split("</script>", 1)[0])
    assert config["preview"] is True and config["session"] is None and config["idle_seconds"] == 0
    assert config["skip"]["rules"] == [
        {"item": "who5_hard", "section": None, "rule": config["skip"]["rules"][0]["rule"]}
    ]
    assert config["urls"]["next"].endswith("/frame/tablet/nl/end")
    assert (
        "Voor uw begeleider: cliëntmodus beëindigen" in html
    )  # the tablet's own tools, as a client sees them


def test_the_phone_preview_shows_what_a_phone_shows(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    html = client.get(f"/admin/questionnaires/drafts/{draft.id}/frame/phone/fr/3").get_data(as_text=True)
    assert "Stop for now" in html or "Arrêter" in html
    assert '<html lang="fr">' in html


def test_the_preview_choices_switch_language_and_display_for_the_preview_only(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    frame = f"/admin/questionnaires/drafts/{draft.id}/frame/tablet/en/2"
    choices = f"/admin/questionnaires/drafts/{draft.id}/frame/tablet/choices"
    response = post(choices, {"language": "fr", "next": frame}, page=frame)
    assert response.location == f"/admin/questionnaires/drafts/{draft.id}/frame/tablet/fr/2"
    response = post(choices, {"large": "on", "next": "//evil.example/x"}, page=frame)
    assert response.location == f"/admin/questionnaires/drafts/{draft.id}/frame/tablet/en/0"
    assert "client-large.css" in client.get(frame).get_data(as_text=True)
    assert "client-large.css" not in client.get("/admin/questionnaires").get_data(as_text=True)


def _shown_screen(html: str) -> int:
    """The number of the one screen the page shows."""
    shown = re.findall(r'<section class="cq-screen" data-screen="(\d+)"(?![^>]*\bhidden\b)[^>]*>', html)
    assert len(shown) == 1, shown
    return int(shown[0])


def test_the_preview_works_as_plain_forms_before_or_without_its_script(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    frame = f"/admin/questionnaires/drafts/{draft.id}/frame/tablet/en"
    stored = db.session.scalar(select(func.count()).select_from(Answer))

    started = post(f"{frame}/0", {"nav": "next"}, page=f"{frame}/0")
    assert started.status_code == 200 and _shown_screen(started.get_data(as_text=True)) == 1
    assert started.headers["X-Frame-Options"] == "SAMEORIGIN"

    at_no_time = post(
        f"{frame}/1", {"nav": "next", "shown": "who5_cheerful", "who5_cheerful": "0"}, page=f"{frame}/1"
    )
    html = at_no_time.get_data(as_text=True)
    assert _shown_screen(html) == 2 and FOLLOW_UP in html  # the skip rule opened the follow-up
    assert re.search(r'name="who5_cheerful" value="0"[^>]*checked', html)  # the answer is kept in the page
    assert f'action="{frame}/2"' in html

    often = post(
        f"{frame}/1", {"nav": "next", "shown": "who5_cheerful", "who5_cheerful": "4"}, page=f"{frame}/1"
    )
    assert _shown_screen(often.get_data(as_text=True)) == 3  # the follow-up is skipped

    wrong = post(
        f"{frame}/1", {"nav": "next", "shown": "who5_cheerful", "who5_cheerful": "9"}, page=f"{frame}/1"
    )
    assert wrong.status_code == 422 and _shown_screen(wrong.get_data(as_text=True)) == 1
    assert "Please look at the question marked below." in wrong.get_data(as_text=True)

    back = post(f"{frame}/1", {"nav": "back", "shown": "who5_cheerful"}, page=f"{frame}/1")
    assert _shown_screen(back.get_data(as_text=True)) == 0

    last = len(re.findall(r'class="cq-screen"', client.get(f"{frame}/0").get_data(as_text=True))) - 1
    answers = {f"who5_{name}": "3" for name in ("cheerful", "calm", "active", "rested", "interest")}
    ended = post(f"{frame}/{last}", {"nav": "next", "shown": "who5_interest", **answers}, page=f"{frame}/0")
    assert ended.status_code == 302 and ended.location == f"{frame}/end"
    assert db.session.scalar(select(func.count()).select_from(Answer)) == stored  # the preview stored nothing


def test_the_preview_as_plain_forms_asks_for_a_required_answer_before_going_on(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder
) -> None:
    required = who5_v2().replace("- id: who5_cheerful\n", "- id: who5_cheerful\n        required: true\n")
    draft = _draft(db, world, questionnaire_dir, required)
    frame = f"/admin/questionnaires/drafts/{draft.id}/frame/phone/en"
    empty = post(f"{frame}/1", {"nav": "next", "shown": "who5_cheerful"}, page=f"{frame}/1")
    assert empty.status_code == 422 and _shown_screen(empty.get_data(as_text=True)) == 1
    assert "Please answer this question to go on." in empty.get_data(as_text=True)
    back = post(f"{frame}/1", {"nav": "back", "shown": "who5_cheerful"}, page=f"{frame}/1")
    assert back.status_code == 200 and _shown_screen(back.get_data(as_text=True)) == 0


def test_the_preview_as_plain_forms_stays_on_a_screen_where_an_answer_opened_another_question(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, post: Builder
) -> None:
    together = new_form().replace("- id: main\n  items:", "- id: main\n  display: together\n  items:")
    draft = _draft(db, world, questionnaire_dir, together)
    frame = f"/admin/questionnaires/drafts/{draft.id}/frame/tablet/en"
    asked = {"nav": "next", "shown": "q1 q2 q3 q4 q5", "q1": "4"}
    opened = post(f"{frame}/0", asked, page=f"{frame}/0")
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200 and _shown_screen(html) == 0
    assert re.search(r'<input type="hidden" name="shown" value="q1 q2 q3 q4 q5 q6">', html)  # q6 now asked
    done = post(f"{frame}/0", {**asked, "shown": "q1 q2 q3 q4 q5 q6"}, page=f"{frame}/0")
    assert done.status_code == 302 and done.location == f"{frame}/end"


@pytest.mark.parametrize("path", ["frame/watch/en/0", "frame/tablet/de/0", "frame/tablet/xx/end"])
def test_an_unknown_device_or_language_is_not_found(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, path: str
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    assert client.get(f"/admin/questionnaires/drafts/{draft.id}/{path}").status_code == 404


def test_the_end_of_the_preview(
    client: FlaskClient, db: SQLAlchemy, world: AdminWorld, questionnaire_dir: Path, text_of: Builder
) -> None:
    draft = _draft(db, world, questionnaire_dir, who5_v2())
    response = client.get(f"/admin/questionnaires/drafts/{draft.id}/frame/phone/en/end")
    assert response.status_code == 200 and "This preview stored nothing." in text_of(response)
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
