"""The malicious-input corpus over every form, URL parameter, query string and JSON field of the app.

Each target (found by opening every page and reading its forms, and from ``app.url_map``) gets a fixed
set of the worst payloads and its share of the rest of the corpus, so every payload is tried somewhere
and every endpoint gets inputs. Nothing may answer 5xx, show a payload unescaped, run a template payload,
or keep in the database what it refused.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from werkzeug.routing import IntegerConverter

from survey_app.models import StaffUser
from survey_app.questionnaires.loader import load_questionnaire_text
from survey_app.questionnaires.problems import QuestionnaireError
from survey_app.reports import documents
from tests.security.fuzz import Fuzzer, Payload, Target
from tests.security.malicious import (
    ALWAYS,
    HOSTILE_FILES,
    HOSTILE_YAML,
    JSON_BODIES,
    VALID_UPLOAD,
    HostileFile,
    corpus,
)
from tests.security.matrix_table import load_table, route_methods
from tests.security.principals import (
    Browser,
    Principal,
    client_mode_principal,
    pending_sign_in_principal,
    staff_principal,
)
from tests.security.test_access_matrix import make_principal
from tests.security.world import build_world

#: Publishing a draft writes into the questionnaire folder: each test gets a copy of its own.
pytestmark = pytest.mark.usefixtures("questionnaire_dir")


#: Bodies larger than the app reads at all (MAX_CONTENT_LENGTH is 2 MiB).
OVERSIZED_BODY = "x" * (3 * 1024 * 1024)
LONGEST_IN_URL = 2_000
#: Routes that answer a file (a PDF, a ZIP) rather than a page: a few payloads are enough there.
FILE_ROUTES = (".pdf", "/download")
#: Form fields that take a questionnaire's YAML source get every hostile source.
YAML_FIELD_WORDS = ("yaml", "source")
#: Routes that check a password (argon2id, deliberately slow) or make reports: only the fixed payloads.
SLOW_ENDPOINTS = {"auth.sign_in", "client.leave", "client.unlock", "reports.start"}


def _fits(target: Target, payload: str) -> bool:
    if target.where == "url":
        if isinstance(target.rule._converters[target.name], IntegerConverter):
            return payload.isascii() and payload.isdigit()
        return 0 < len(payload) <= LONGEST_IN_URL
    if target.where == "query":
        return len(payload) <= LONGEST_IN_URL * 4
    return True


def plan(targets: list[Target], payloads: list[str]) -> list[tuple[Target, Payload]]:
    """Every target gets the fixed payloads that fit it, and the rest of the corpus is dealt round them."""
    planned: list[tuple[Target, Payload]] = []
    for target in targets:
        fixed: list[Payload] = [payload for payload in ALWAYS if _fits(target, payload)]
        if target.where == "json" and target.name == "raw":
            fixed += JSON_BODIES
        if target.where == "form" and any(word in target.name for word in YAML_FIELD_WORDS):
            fixed += HOSTILE_YAML  # a questionnaire source pasted into a form
        if target.where == "file":
            fixed += [*HOSTILE_YAML, *HOSTILE_FILES]  # a questionnaire file uploaded
        limit = 3 if any(part in target.rule.rule for part in FILE_ROUTES) else len(fixed)
        planned.extend((target, payload) for payload in fixed[:limit])
    rest = [payload for payload in payloads if payload not in ALWAYS and payload not in JSON_BODIES]
    dealable = [
        t
        for t in targets
        if not any(part in t.rule.rule for part in FILE_ROUTES) and t.endpoint not in SLOW_ENDPOINTS
    ]
    for payload, target in zip(rest, itertools.cycle(dealable), strict=False):
        fitting = target if _fits(target, payload) else next(t for t in dealable if t.where == "form")
        planned.append((fitting, payload))
    return planned


@pytest.fixture
def fuzzer(
    app: Flask,
    db: SQLAlchemy,
    client: FlaskClient,
    enrol_totp: Callable[[StaffUser], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Fuzzer:
    """A world, every principal the corpus needs, and the forms read from every page they may open.

    Reports are judged on their HTML: the step that lays it out as a PDF is skipped (it takes most of a
    second per report and sees only what the HTML holds).
    """
    world = build_world(app, db)
    enrol_totp(world.a.counsellor)
    principals: dict[str, Principal] = {
        name: make_principal(name, db, world)
        for name in ("anon", "client", "couns_a", "lead", "admin", "research", "court_yes")
    }
    principals["client_locked"] = client_mode_principal(db, world, "client_locked", side=world.b, locked=True)
    principals["client_phone"] = client_mode_principal(db, world, "client_phone", side=world.b, via="code")
    principals["client_leaving"] = client_mode_principal(
        db, world, "client_leaving", side=world.b, leaving=True
    )
    principals["pending"] = pending_sign_in_principal("pending", world.a.counsellor)
    principals["pending_new"] = pending_sign_in_principal("pending_new", world.b.counsellor)
    found = Fuzzer(app, db, Browser(app, db, client), world, principals, load_table())
    monkeypatch.setattr(documents, "render_pdf", found.keep_report_html)
    found.discover_forms()
    return found


def test_every_state_changing_route_has_a_form_or_a_json_body(app: Flask, fuzzer: Fuzzer) -> None:
    scripted = {"client.keepalive"}  # the page's script posts it, with nothing but the CSRF token
    json_api = {target.endpoint for target in fuzzer.targets() if target.where == "json"}
    for rule, method in route_methods(app):
        if method == "GET" or rule.endpoint in scripted | json_api:
            continue
        assert (rule.endpoint, method) in fuzzer.forms, f"no page shows a form for {method} {rule.rule}"


def test_the_corpus_meets_every_endpoint_without_a_server_error_or_markup_let_through(
    app: Flask, fuzzer: Fuzzer
) -> None:
    payloads = corpus()
    targets = fuzzer.targets()
    planned = plan(targets, payloads)
    problems: list[str] = []
    for target, payload in planned:
        problems += [
            f"{target}: {problem} ({str(payload)[:60]!r})" for problem in fuzzer.attack(target, payload)
        ]
    for rule, method in route_methods(app):
        if method == "GET":
            continue
        who = fuzzer.principals[fuzzer.principal_for(rule.endpoint, method)]
        path = rule.rule.replace("<", "").replace(">", "")  # the body is refused before routing matters
        with fuzzer.browser.rolled_back():
            response = fuzzer.browser.send(who, method, path, data={"x": OVERSIZED_BODY})
        response.close()
        if response.status_code >= 500:
            problems.append(f"{method} {rule.rule}: {response.status_code} on a 3 MiB body")
    tried = {payload for _, payload in planned}
    endpoints = {target.endpoint for target, _ in planned}
    files = [target for target in targets if target.where == "file"]
    print(  # the figures docs/security.md reports (shown with pytest -s)
        f"\ncorpus: {len(payloads)} distinct payloads and {len(HOSTILE_FILES)} hostile files, "
        f"{len(planned)} inputs over {len(targets)} targets ({len(files)} file inputs) "
        f"and {len(endpoints)} endpoints, plus a 3 MiB body to each state-changing route; "
        f"{len(problems)} failures"
    )
    assert len(planned) >= 500 and {payload for payload in tried if isinstance(payload, str)} == set(payloads)
    assert files and set(HOSTILE_FILES) <= tried
    assert {rule.endpoint for rule, _ in route_methods(app)} <= {target.endpoint for target, _ in planned}
    assert not problems, f"{len(problems)} of {len(planned)} inputs went wrong:\n" + "\n".join(problems[:60])


@pytest.mark.parametrize("source", HOSTILE_YAML, ids=range(len(HOSTILE_YAML)))
def test_hostile_questionnaire_sources_are_refused_with_a_reason(source: str) -> None:
    with pytest.raises(QuestionnaireError) as refused:
        load_questionnaire_text(source, "upload.yaml")
    assert str(refused.value)


@pytest.mark.parametrize(
    "bad", ["9223372036854775808", "99999999999999999999999999", "\u00b2", "\u00b9\u00b2"]
)
def test_an_id_too_large_for_any_key_or_in_other_digits_is_refused_not_an_error(
    app: Flask, db: SQLAlchemy, client: FlaskClient, bad: str
) -> None:
    world = build_world(app, db)
    browser = Browser(app, db, client)
    counsellor = staff_principal(db, "couns_a", world.a.counsellor)
    lead = staff_principal(db, "lead", world.site_lead)
    code = world.a.client.code
    answers = [
        (counsellor, f"/client-mode/start/{code}", {"timepoint_id": bad}, 404),
        (counsellor, f"/client-mode/code/{code}", {"timepoint_id": bad}, 404),
        (counsellor, "/counsellor/alerts/acknowledge", {"alert": bad, "note": "Seen."}, 404),
        (
            lead,
            "/counsellor/settings/alerts/recipients",
            {"staff": bad, "site": "", "severities": "all"},
            422,
        ),
        (
            lead,
            "/counsellor/settings/alerts/recipients",
            {"staff": str(world.b.counsellor.id), "site": bad},
            422,
        ),
        (lead, f"/counsellor/settings/alerts/recipients/{bad}/remove", {}, 404),
    ]
    for principal, path, data, status in answers:
        with browser.rolled_back():
            response = browser.send(principal, "POST", path, data=data)
        assert response.status_code == status, (path, data)
    with browser.rolled_back():
        assert browser.send(lead, "GET", f"/?site={bad}&counsellor={bad}&page={bad}").status_code == 200


def test_a_zero_byte_anywhere_is_refused_with_a_reason(
    app: Flask, db: SQLAlchemy, client: FlaskClient
) -> None:
    world = build_world(app, db)
    browser = Browser(app, db, client)
    counsellor = staff_principal(db, "couns_a", world.a.counsellor)
    tablet = client_mode_principal(db, world)
    code, session = world.a.client.code, world.a.submitted.public_id
    answers = [
        browser.send(
            counsellor,
            "POST",
            f"/counsellor/clients/{code}/sessions/{session}/notes",
            data={"body": "a\x00b"},
        ),
        browser.send(counsellor, "GET", f"/counsellor/clients/{code}%00"),
        browser.send(counsellor, "GET", "/?q=a%00b"),
        browser.send(
            tablet,
            "PUT",
            f"/api/v1/sessions/{world.a.open_session.public_id}/answers",
            json={
                "answers": [
                    {"questionnaire": "tablet_form", "version": 1, "item": "mood_why", "value": "a\x00b"}
                ]
            },
        ),
    ]
    for response in answers:
        assert response.status_code == 400
        assert "zero byte" in response.get_data(as_text=True)
    assert answers[-1].is_json


def _tablet_autosave(app: Flask, db: SQLAlchemy, client: FlaskClient) -> Callable[[bytes], Any]:
    """PUT a raw JSON body to the autosave of an open session, as its tablet."""
    world = build_world(app, db)
    browser = Browser(app, db, client)
    tablet = client_mode_principal(db, world)
    path = f"/api/v1/sessions/{world.a.open_session.public_id}/answers"
    return lambda body: browser.send(tablet, "PUT", path, data=body, content_type="application/json")


def test_a_zero_byte_in_json_of_any_encoding_is_refused_and_an_escaped_backslash_is_not(
    app: Flask, db: SQLAlchemy, client: FlaskClient
) -> None:
    autosave = _tablet_autosave(app, db, client)

    def save(text: str, encoding: str = "utf-8") -> Any:
        body = (
            '{"answers": [{"questionnaire": "tablet_form", "version": 1, "item": "mood_why", "value": %s}]}'
        )
        return autosave((body % text).encode(encoding))

    for refused in (save('"a\\u0000b"'), save('"a\\u0000b"', "utf-16")):
        assert refused.status_code == 400
        assert "zero byte" in refused.get_data(as_text=True)
    kept = save('"a\\\\u0000b"')  # a backslash followed by the letters u0000: plain text
    assert kept.status_code == 200, kept.get_json()


def test_json_nested_too_deeply_to_parse_is_a_bad_request(
    app: Flask, db: SQLAlchemy, client: FlaskClient
) -> None:
    response = _tablet_autosave(app, db, client)(("[" * 5_000 + "]" * 5_000).encode())
    assert response.status_code == 400 and response.json is not None and response.json["code"] == "bad_json"


@pytest.mark.parametrize("upload", HOSTILE_FILES, ids=[upload.name[:24] for upload in HOSTILE_FILES])
def test_a_hostile_file_is_refused_with_a_reason_or_kept_under_a_safe_name(
    app: Flask, db: SQLAlchemy, client: FlaskClient, upload: HostileFile
) -> None:
    world = build_world(app, db)
    browser = Browser(app, db, client)
    admin = make_principal("admin", db, world)
    form = {"source": ""}
    with browser.rolled_back():
        response = browser.send(
            admin,
            "POST",
            "/admin/questionnaires/drafts",
            data=form,
            files={"file": (upload.name, upload.content)},
        )
        drafts = (
            browser.connection.exec_driver_sql("SELECT file_name FROM questionnaire_drafts").scalars().all()
        )
        page = response.get_data(as_text=True)
        if upload.content != VALID_UPLOAD:
            assert response.status_code in (413, 422) and "Nothing was saved." in page, upload
            assert sorted(drafts) == sorted([world.home.draft.file_name, world.elsewhere.draft.file_name])
            return
        assert response.status_code == 302, upload
        (kept,) = set(drafts) - {world.home.draft.file_name}
        assert len(kept) <= 100 and not set(kept) & set("/\\<>'\"\u202e")
        draft_page = browser.send(admin, "GET", response.location)
        assert draft_page.status_code == 200 and kept in draft_page.get_data(as_text=True)
