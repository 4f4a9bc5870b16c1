"""`flask questionnaires owners` lists who owns each key; `set-owner` changes it, audited, and refuses to take
a questionnaire away from an organisation that uses it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AuditEvent, Organisation, QuestionnaireKey, StaffUser, TimepointQuestionnaire
from survey_app.questionnaires.registry import record_publication
from survey_app.services.questionnaires import find_version
from tests.admin.support import new_form, who5_v2
from tests.admin.test_questionnaire_owners import readable

Builder = Callable[..., Any]


def run(app: Flask, *args: str) -> Result:
    """Run ``flask questionnaires ARGS``."""
    return app.test_cli_runner().invoke(args=["questionnaires", *args])


def listed_owners(app: Flask) -> dict[str, tuple[str, str]]:
    """What `owners` prints: key -> (latest version, owner), below its header line."""
    result = run(app, "owners")
    assert result.exit_code == 0, result.output
    header, *lines = (line.split(None, 2) for line in result.output.splitlines())
    assert header == ["key", "latest", "owner"]
    return {key: (latest, owner) for key, latest, owner in lines}


def owner_of(db: SQLAlchemy, key: str) -> int | None:
    """The id of the organisation that owns ``key`` (None: shared)."""
    row = db.session.get(QuestionnaireKey, key)
    assert row is not None
    return row.organisation_id


def owner_changes(db: SQLAlchemy) -> list[AuditEvent]:
    """The owner changes in the audit trail, oldest first."""
    query = select(AuditEvent).where(AuditEvent.action == "questionnaire.owner_changed")
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


@pytest.fixture
def loaded(app: Flask) -> None:
    """The bundled questionnaires, loaded as the deployer does (shared)."""
    result = run(app, "load")
    assert result.exit_code == 0, result.output


@pytest.fixture
def court_a(make_organisation: Builder) -> Organisation:
    """An organisation called Court A."""
    organisation: Organisation = make_organisation("Court A")
    return organisation


def test_owners_lists_every_key_with_its_owner_and_latest_version(
    app: Flask, db: SQLAlchemy, questionnaire_dir: Path, loaded: None, court_a: Organisation
) -> None:
    db.session.get_one(QuestionnaireKey, "rses").organisation_id = court_a.id
    db.session.flush()
    next_version = questionnaire_dir / "who5" / "v2.yaml"
    next_version.write_text(who5_v2(), encoding="utf-8")
    assert run(app, "publish", str(next_version)).exit_code == 0
    listed = listed_owners(app)
    assert listed["who5"] == ("v2", "shared") and listed["rses"] == ("v1", "Court A")
    assert len(listed) == 14 and listed["phq9"] == ("v1", "shared")


def test_owners_on_an_empty_database_says_to_load(app: Flask) -> None:
    result = run(app, "owners")
    assert result.exit_code == 0 and "run `flask questionnaires load`" in result.output


def test_a_shared_key_becomes_an_organisations_own_and_shared_again_audited(
    app: Flask,
    db: SQLAlchemy,
    client: FlaskClient,
    loaded: None,
    court_a: Organisation,
    login_as: Callable[..., StaffUser],
    make_staff: Builder,
    other_browser: Callable[[StaffUser], FlaskClient],
) -> None:
    login_as("admin", organisation=court_a)
    other_admin = other_browser(make_staff("admin"))

    result = run(app, "set-owner", "rses", "--organisation", "Court A")

    assert result.exit_code == 0, result.output
    assert "rses: the owner was shared, now Court A." in result.output
    assert owner_of(db, "rses") == court_a.id
    assert "rses v1 1 your organisation" in readable(client.get("/admin/questionnaires"))
    assert "rses" not in readable(other_admin.get("/admin/questionnaires"))
    assert listed_owners(app)["rses"] == ("v1", "Court A")

    result = run(app, "set-owner", "rses", "--shared")
    assert result.exit_code == 0 and "the owner was Court A, now shared" in result.output
    assert owner_of(db, "rses") is None
    assert "rses" in readable(other_admin.get("/admin/questionnaires"))
    made_own, shared_again = owner_changes(db)
    assert (made_own.actor_type, made_own.object_type, made_own.object_id) == (
        "system",
        "questionnaire_key",
        "rses",
    )
    assert made_own.details == {"key": "rses", "old_organisation_id": None, "new_organisation_id": court_a.id}
    assert shared_again.details == {
        "key": "rses",
        "old_organisation_id": court_a.id,
        "new_organisation_id": None,
    }


def test_setting_the_owner_a_key_has_already_changes_nothing(
    app: Flask, db: SQLAlchemy, loaded: None
) -> None:
    result = run(app, "set-owner", "who5", "--shared")
    assert result.exit_code == 0 and "who5 is shared already; nothing changed." in result.output
    assert owner_changes(db) == []


def test_unknown_keys_and_organisations_are_refused(
    app: Flask, db: SQLAlchemy, loaded: None, court_a: Organisation
) -> None:
    result = run(app, "set-owner", "nope", "--organisation", "Court A")
    assert result.exit_code == 1
    assert "there is no questionnaire 'nope' in the database" in result.output
    assert "`flask questionnaires owners` lists the keys" in result.output
    result = run(app, "set-owner", "who5", "--organisation", "Court Z")
    assert result.exit_code == 2 and "no organisation called 'Court Z'" in result.output
    for options in ((), ("--shared", "--organisation", "Court A")):
        result = run(app, "set-owner", "who5", *options)
        assert result.exit_code == 2 and "give either --organisation NAME or --shared" in result.output
    assert owner_of(db, "who5") is None and owner_changes(db) == []


def test_a_key_another_organisations_programme_gives_stays_shared(
    app: Flask,
    db: SQLAlchemy,
    loaded: None,
    court_a: Organisation,
    make_organisation: Builder,
    make_programme: Builder,
) -> None:
    programme = make_programme(make_organisation("Court C"), key="court_c")
    intake = programme.timepoints[0]
    db.session.add(TimepointQuestionnaire(timepoint_id=intake.id, questionnaire_key="phq9", position=0))
    db.session.flush()

    result = run(app, "set-owner", "phq9", "--organisation", "Court A")

    assert result.exit_code == 1
    assert "phq9 cannot become the own questionnaire of 'Court A'" in result.output
    assert "'Court C' gives it in its programme court_c" in result.output
    assert "programmes must stop giving it first" in result.output and "phq9 stays shared." in result.output
    assert owner_of(db, "phq9") is None and owner_changes(db) == []
    own_programme = make_programme(court_a, key="court_a")
    db.session.add(
        TimepointQuestionnaire(
            timepoint_id=own_programme.timepoints[0].id, questionnaire_key="gad7", position=0
        )
    )
    db.session.flush()
    assert run(app, "set-owner", "gad7", "--organisation", "Court A").exit_code == 0  # its own programme


def test_a_key_another_organisations_clients_answered_stays_with_its_owner(
    app: Flask,
    db: SQLAlchemy,
    loaded: None,
    court_a: Organisation,
    make_organisation: Builder,
    make_site: Builder,
    make_client: Builder,
    make_assessment_session: Builder,
) -> None:
    court_c = make_organisation("Court C")
    db.session.get_one(QuestionnaireKey, "k10").organisation_id = court_c.id
    k10 = find_version(db.session, "k10")
    for _ in range(2):
        make_assessment_session(make_client(site=make_site(court_c)), versions=[k10])

    result = run(app, "set-owner", "k10", "--organisation", "Court A")

    assert result.exit_code == 1
    assert "clients of 'Court C' were given it in 2 session(s)" in result.output
    assert "k10 stays the own questionnaire of 'Court C'." in result.output
    assert owner_of(db, "k10") == court_c.id and owner_changes(db) == []
    assert run(app, "set-owner", "k10", "--shared").exit_code == 0  # sharing takes nothing away


def court_form(questionnaire_dir: Path, key: str) -> None:
    """Add v1 of a new questionnaire ``key`` to the folder's published files, as a deployment brings it."""
    path = questionnaire_dir / key / "v1.yaml"
    path.parent.mkdir()
    path.write_text(new_form(key), encoding="utf-8")
    record_publication(questionnaire_dir, path)


def test_load_for_an_organisation_makes_only_new_keys_its_own_and_says_which_keep_their_owner(
    app: Flask,
    db: SQLAlchemy,
    questionnaire_dir: Path,
    loaded: None,
    court_a: Organisation,
    make_organisation: Builder,
) -> None:
    court_c = make_organisation("Court C")
    db.session.get_one(QuestionnaireKey, "rses").organisation_id = court_c.id
    db.session.flush()
    court_form(questionnaire_dir, "a_intake")
    court_form(questionnaire_dir, "a_exit")

    result = run(app, "load", "--organisation", "Court A")

    assert result.exit_code == 0, result.output
    assert "2 version(s) stored, 14 already stored." in result.output
    assert "Now Court A's own: a_exit, a_intake." in result.output
    assert "Kept the owner they had, not made Court A's own: arq (shared)," in result.output
    assert "rses (Court C)" in result.output and "who5 (shared)" in result.output
    assert "`flask questionnaires set-owner KEY --organisation NAME` changes an owner." in result.output
    listed = listed_owners(app)
    assert listed["a_intake"] == listed["a_exit"] == ("v1", "Court A")
    assert listed["rses"] == ("v1", "Court C") and listed["who5"] == ("v1", "shared")
    assert owner_changes(db) == []

    again = run(app, "load", "--organisation", "Court A")
    assert again.exit_code == 0 and "0 version(s) stored, 16 already stored." in again.output
    assert "Now Court A's own" not in again.output and "a_intake" not in again.output


def test_load_for_an_unknown_organisation_stores_nothing(
    app: Flask, db: SQLAlchemy, questionnaire_dir: Path
) -> None:
    result = run(app, "load", "--organisation", "Court Z")
    assert result.exit_code == 2 and "no organisation called 'Court Z'" in result.output
    assert "No questionnaires in the database yet" in run(app, "owners").output
