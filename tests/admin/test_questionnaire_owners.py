"""Questionnaire keys have owners: an admin publishes versions of the organisation's own keys and of new ones,
never of a shared questionnaire nor of another organisation's, and sees no other organisation's one."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select
from werkzeug.test import TestResponse

from survey_app.models import (
    AuditEvent,
    ExportProject,
    ExportProjectMember,
    QuestionnaireDraft,
    QuestionnaireKey,
    QuestionnaireVersion,
    StaffUser,
)
from survey_app.questionnaires.registry import read_manifest
from survey_app.services.assessments import resolve_battery
from survey_app.services.exports import ExportError, ExportFilters, ExportRequest, check_request
from survey_app.services.programme_admin import (
    BatteryChoice,
    ProgrammeChangeError,
    TimepointDraft,
    create_programme,
    save_timepoint,
)
from tests.admin.conftest import AdminWorld
from tests.admin.support import new_form, who5_v2

Builder = Callable[..., Any]
OWN_KEY = "a_intake"


def _form(*, version: int = 1) -> str:
    """A's own questionnaire, at ``version``."""
    return new_form(OWN_KEY, version=version)


def send(browser: FlaskClient, path: str, data: dict[str, Any], *, page: str, **options: Any) -> TestResponse:
    """Post a form from ``page`` in ``browser``, with the CSRF token that page carries."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(page).get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return browser.post(path, data={**data, "csrf_token": match.group(1)}, **options)


def upload(browser: FlaskClient, source: str, **options: Any) -> TestResponse:
    """Paste ``source`` into the upload form of the questionnaires page."""
    return send(
        browser, "/admin/questionnaires/drafts", {"source": source}, page="/admin/questionnaires", **options
    )


def publish(browser: FlaskClient, db: SQLAlchemy, key: str, version: int) -> TestResponse:
    """Press Publish on the draft of ``key`` ``version`` of the browser's organisation."""
    draft = db.session.scalar(
        select(QuestionnaireDraft).where(QuestionnaireDraft.key == key, QuestionnaireDraft.version == version)
    )
    assert draft is not None
    page = f"/admin/questionnaires/drafts/{draft.id}"
    return send(browser, f"{page}/publish", {"content_hash": draft.content_hash}, page=page)


def readable(response: TestResponse) -> str:
    """A response's HTML as text, with tags removed and spaces collapsed (what a person reads)."""
    html = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&").split())


def refusals(db: SQLAlchemy) -> list[AuditEvent]:
    """The refused publications in the audit trail, oldest first."""
    query = select(AuditEvent).where(AuditEvent.action == "questionnaire.publish_refused")
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def stored(db: SQLAlchemy, key: str) -> list[int]:
    """The stored versions of ``key``."""
    query = select(QuestionnaireVersion.version).where(QuestionnaireVersion.key == key)
    return sorted(db.session.scalars(query))


@dataclass
class TwoOrganisations:
    """Organisation A (``world``, its admin signed in on ``client``) with its own questionnaire published,
    and organisation B, its admin signed in on ``b``."""

    a: AdminWorld
    b_admin: StaffUser
    b: FlaskClient


@pytest.fixture
def two(
    db: SQLAlchemy,
    client: FlaskClient,
    world: AdminWorld,
    questionnaire_dir: Path,
    make_staff: Builder,
    other_browser: Callable[[StaffUser], FlaskClient],
) -> TwoOrganisations:
    """A's admin publishes A's questionnaire v1 on the admin pages; B's admin is signed in elsewhere."""
    assert upload(client, _form()).status_code == 302
    assert publish(client, db, OWN_KEY, 1).status_code == 302
    b_admin = make_staff("admin")
    return TwoOrganisations(world, b_admin, other_browser(b_admin))


def test_a_new_key_published_on_the_admin_pages_belongs_to_the_organisation(
    db: SQLAlchemy, two: TwoOrganisations
) -> None:
    owner = db.session.get(QuestionnaireKey, OWN_KEY)
    assert owner is not None and owner.organisation_id == two.a.organisation.id


def test_the_list_says_which_questionnaires_are_the_organisations_own(
    app: Flask, client: FlaskClient, two: TwoOrganisations
) -> None:
    assert app.test_cli_runner().invoke(args=["questionnaires", "load"]).exit_code == 0
    shown = readable(client.get("/admin/questionnaires"))
    assert f"{OWN_KEY} v1 1 your organisation" in shown
    assert "who5 v1 1 shared by every organisation" in shown
    dutch = readable(client.get("/admin/questionnaires", headers={"Accept-Language": "nl"}))
    assert f"{OWN_KEY} v1 1 uw organisatie" in dutch and "who5 v1 1 gedeeld door alle organisaties" in dutch


def test_b_cannot_publish_a_version_of_as_questionnaire_and_as_latest_stays_as_it_was(
    db: SQLAlchemy, client: FlaskClient, two: TwoOrganisations, questionnaire_dir: Path
) -> None:
    programme = create_programme(db.session, two.a.admin, "court_a", "Court A", "")
    battery = (BatteryChoice(OWN_KEY, None, True),)
    intake = save_timepoint(
        db.session, two.a.admin, programme, None, TimepointDraft("t0", "Intake", "intake", 0, 0, 21, battery)
    )
    db.session.flush()
    manifest = read_manifest(questionnaire_dir)

    response = upload(two.b, _form(version=2), environ_base={"REMOTE_ADDR": "10.0.0.2"})

    shown = readable(response)
    assert response.status_code == 403
    assert f"The key {OWN_KEY} belongs to a questionnaire of another organisation" in shown
    assert "Give your questionnaire a key of its own." in shown
    assert "v1" not in shown and "Pilot form" not in shown  # nothing of A's questionnaire is told
    assert db.session.scalar(select(QuestionnaireDraft)) is None
    assert stored(db, OWN_KEY) == [1] and read_manifest(questionnaire_dir) == manifest
    assert not (questionnaire_dir / OWN_KEY / "v2.yaml").exists()
    (refused,) = refusals(db)
    assert (refused.actor_id, refused.ip, refused.object_id) == (two.b_admin.id, "10.0.0.2", OWN_KEY)
    assert refused.details == {
        "key": OWN_KEY,
        "version": 2,
        "stage": "upload",
        "reason": "other_organisation",
        "organisation_id": two.b_admin.organisation_id,
    }
    (given,) = resolve_battery(db.session, intake)
    assert (given.key, given.version) == (OWN_KEY, 1)  # A's clients keep A's version


def test_b_cannot_publish_the_next_version_of_a_shared_questionnaire(
    db: SQLAlchemy, two: TwoOrganisations, questionnaire_dir: Path
) -> None:
    response = upload(two.b, who5_v2(), environ_base={"REMOTE_ADDR": "10.0.0.2"})
    shown = readable(response)
    assert response.status_code == 403
    assert "who5 is a questionnaire shared by every organisation" in shown
    assert "ask whoever runs this installation to publish this version" in shown
    assert db.session.scalar(select(QuestionnaireDraft)) is None
    assert not (questionnaire_dir / "who5" / "v2.yaml").exists()
    (refused,) = refusals(db)
    assert (refused.ip, refused.details["reason"], refused.details["version"]) == (
        "10.0.0.2",
        "shared_key",
        2,
    )


def test_the_refusal_is_in_the_admins_language(db: SQLAlchemy, two: TwoOrganisations) -> None:
    dutch = readable(upload(two.b, who5_v2(), headers={"Accept-Language": "nl"}))
    french = readable(upload(two.b, _form(version=2), headers={"Accept-Language": "fr"}))
    assert "who5 is een vragenlijst die alle organisaties delen" in dutch
    assert f"La clé {OWN_KEY} appartient au questionnaire d'une autre organisation" in french


def test_a_draft_of_a_key_that_became_someone_elses_is_not_published(
    db: SQLAlchemy, two: TwoOrganisations, questionnaire_dir: Path
) -> None:
    draft = QuestionnaireDraft(  # kept from before the key was A's
        organisation_id=two.b_admin.organisation_id, key=OWN_KEY, version=2, file_name="v2.yaml",
        source_text=_form(version=2), content_hash="c" * 64, uploaded_by=two.b_admin.id,
    )  # fmt: skip
    db.session.add(draft)
    db.session.flush()
    page = f"/admin/questionnaires/drafts/{draft.id}"
    shown = readable(two.b.get(page))
    assert "belongs to a questionnaire of another organisation" in shown
    assert "Compared with" not in shown  # A's published version is not shown next to it
    response = send(
        two.b, f"{page}/publish", {"content_hash": draft.content_hash}, page=page,
        environ_base={"REMOTE_ADDR": "10.0.0.3"},
    )  # fmt: skip
    assert response.status_code == 403 and "another organisation" in readable(response)
    assert stored(db, OWN_KEY) == [1] and not (questionnaire_dir / OWN_KEY / "v2.yaml").exists()
    (refused,) = refusals(db)
    assert (refused.ip, refused.details["stage"]) == ("10.0.0.3", "publish")


def test_as_admin_publishes_as_next_version(
    db: SQLAlchemy, client: FlaskClient, two: TwoOrganisations, questionnaire_dir: Path
) -> None:
    assert upload(client, _form(version=2)).status_code == 302
    response = publish(client, db, OWN_KEY, 2)
    assert response.status_code == 302
    assert f"{OWN_KEY} v2 is published" in readable(client.get(response.location))
    assert stored(db, OWN_KEY) == [1, 2] and (questionnaire_dir / OWN_KEY / "v2.yaml").exists()
    assert refusals(db) == []


def test_b_sees_as_questionnaire_nowhere(
    app: Flask,
    db: SQLAlchemy,
    client: FlaskClient,
    two: TwoOrganisations,
    make_staff: Builder,
    other_browser: Callable[[StaffUser], FlaskClient],
) -> None:
    result = app.test_cli_runner().invoke(args=["questionnaires", "load"])  # the deployer's shared bank
    assert result.exit_code == 0, result.output
    b_organisation = two.b_admin.organisation_id

    questionnaires = readable(two.b.get("/admin/questionnaires"))
    assert "who5" in questionnaires and OWN_KEY not in questionnaires
    assert OWN_KEY in readable(client.get("/admin/questionnaires"))

    programme = create_programme(db.session, two.b_admin, "court_b", "Court B", "")
    db.session.flush()
    form = two.b.get(f"/admin/programmes/{programme.id}/timepoints/new").get_data(as_text=True)
    assert 'value="who5"' in form and OWN_KEY not in form
    battery = (BatteryChoice(OWN_KEY, None, True),)
    with pytest.raises(ProgrammeChangeError, match=f"There is no published questionnaire '{OWN_KEY}'"):
        save_timepoint(
            db.session,
            two.b_admin,
            programme,
            None,
            TimepointDraft("t0", "Intake", "intake", 0, 0, 21, battery),
        )

    project = ExportProject(organisation_id=b_organisation, name="B study")
    db.session.add(project)
    db.session.flush()
    researcher = make_staff("researcher", organisation=two.b_admin.organisation)
    db.session.add(ExportProjectMember(project_id=project.id, staff_user_id=researcher.id))
    db.session.flush()
    research = other_browser(researcher).get(f"/research/projects/{project.id}").get_data(as_text=True)
    assert "who5" in research and OWN_KEY not in research
    now = dt.datetime.now(dt.UTC)
    selection = check_request(db.session, project, ExportRequest("long", "csv"), as_of=now, timezone=dt.UTC)
    keys = {row.key for row in selection.versions}  # what the export and its codebook describe
    assert "who5" in keys and OWN_KEY not in keys
    with pytest.raises(ExportError, match=f"Unknown questionnaire: {OWN_KEY}"):
        check_request(
            db.session,
            project,
            ExportRequest("long", "csv", ExportFilters(questionnaires=(OWN_KEY,))),
            as_of=now,
            timezone=dt.UTC,
        )
    a_project = ExportProject(organisation_id=two.a.organisation.id, name="A study")
    db.session.add(a_project)
    db.session.flush()
    a_selection = check_request(
        db.session, a_project, ExportRequest("long", "csv"), as_of=now, timezone=dt.UTC
    )
    assert {"who5", OWN_KEY} <= {row.key for row in a_selection.versions}


def test_the_command_line_still_publishes_shared_questionnaires(
    app: Flask, db: SQLAlchemy, client: FlaskClient, two: TwoOrganisations, questionnaire_dir: Path
) -> None:
    cli = app.test_cli_runner()
    assert cli.invoke(args=["questionnaires", "load"]).exit_code == 0
    next_version = questionnaire_dir / "who5" / "v2.yaml"
    next_version.write_text(who5_v2(), encoding="utf-8")
    new_key = questionnaire_dir / "court_bank" / "v1.yaml"
    new_key.parent.mkdir()
    new_key.write_text(new_form("court_bank"), encoding="utf-8")
    for path in (next_version, new_key):
        result = cli.invoke(args=["questionnaires", "publish", str(path)])
        assert result.exit_code == 0 and "Published" in result.output, result.output
    assert stored(db, "who5") == [1, 2] and stored(db, "court_bank") == [1]
    owners = {row.key: row.organisation_id for row in db.session.scalars(select(QuestionnaireKey))}
    assert owners["who5"] is None and owners["court_bank"] is None  # shared by every organisation
    for browser in (client, two.b):
        shown = readable(browser.get("/admin/questionnaires"))
        assert "who5" in shown and "court_bank" in shown


def test_the_command_line_publishes_for_an_organisation_by_the_same_rule(
    app: Flask, db: SQLAlchemy, client: FlaskClient, two: TwoOrganisations, questionnaire_dir: Path
) -> None:
    cli = app.test_cli_runner()
    new_key = questionnaire_dir / "a_exit" / "v1.yaml"
    new_key.parent.mkdir()
    new_key.write_text(new_form("a_exit"), encoding="utf-8")
    for_b = ["questionnaires", "publish", "--organisation", two.b_admin.organisation.name]
    next_of_a = questionnaire_dir / OWN_KEY / "v2.yaml"
    next_of_a.write_text(_form(version=2), encoding="utf-8")
    refused = cli.invoke(args=[*for_b, str(next_of_a)])
    assert refused.exit_code == 1 and "another organisation" in refused.output
    assert "Nothing was published." in refused.output and stored(db, OWN_KEY) == [1]

    result = cli.invoke(
        args=["questionnaires", "publish", "--organisation", two.a.organisation.name, str(new_key)]
    )
    assert result.exit_code == 0, result.output
    owner = db.session.get(QuestionnaireKey, "a_exit")
    assert owner is not None and owner.organisation_id == two.a.organisation.id
    assert "a_exit" in readable(client.get("/admin/questionnaires"))
    assert "a_exit" not in readable(two.b.get("/admin/questionnaires"))
