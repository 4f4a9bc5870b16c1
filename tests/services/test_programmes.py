"""The default programme, its timepoints and batteries, and choosing a shorter battery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import Client, Organisation, Programme, QuestionnaireKey
from survey_app.programmes.definition import (
    DEFAULT_PROGRAMME,
    ProgrammeDefinitionError,
    load_programme_definition,
)
from survey_app.questionnaires.loader import load_questionnaire_file
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services.assessments import (
    AssessmentError,
    optional_questionnaires,
    resolve_battery,
    start_session,
)
from survey_app.services.programmes import ProgrammeInstallError, install_programme
from survey_app.services.questionnaires import store_published_versions
from survey_app.services.schedules import plan_of

BANK = Path(__file__).resolve().parents[2] / "questionnaires"
REGISTRY = QuestionnaireRegistry(BANK)


def definition_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "programme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_programme_has_four_timepoints_covering_every_domain() -> None:
    definition = load_programme_definition(DEFAULT_PROGRAMME, REGISTRY.versions)
    assert definition.name["en"] == "Drug Treatment Court"
    assert [(t.key, t.offset_days) for t in definition.timepoints] == [
        ("t0", 0),
        ("t3m", 91),
        ("t6m", 182),
        ("t12m", 365),
    ]
    for timepoint in definition.timepoints:
        core = [entry.questionnaire for entry in timepoint.battery if entry.core]
        domains = {load_questionnaire_file(BANK / key / "v1.yaml").domain.value for key in core}
        assert {
            "health",
            "self_esteem",
            "identity",
            "relationships",
            "recovery_capital",
            "stigma",
            "substance_use",
        } <= domains, timepoint.key


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "timepoints:\n  - {key: t0, offset_days: 0, window_after_days: 30}\n"
            "  - {key: t1, offset_days: 20, window_before_days: 5}\n",
            "the windows of timepoints t0 and t1 overlap",
        ),
        ("timepoints:\n  - {key: t0, battery: [{questionnaire: nope}]}\n", "unknown questionnaire 'nope'"),
        (
            "timepoints:\n  - {key: t0, battery: [{questionnaire: who5, version: 7}]}\n",
            "who5 has no published version 7",
        ),
        ("timepoints:\n  - {key: t0, anchor: verdict}\n", "anchor 'verdict' is not one of"),
        ("timepoints:\n  - {key: t0}\n  - {key: t0, offset_days: 100}\n", "timepoint key 't0' is used twice"),
        (
            "timepoints:\n  - {key: t0, battery: [{questionnaire: who5, core: false}]}\n",
            "at least one questionnaire must be core",
        ),
    ],
)
def test_bad_programme_definitions_are_refused(tmp_path: Path, body: str, message: str) -> None:
    header = (
        "key: demo\nname: {en: D, nl: D, fr: D}\ndescription: {en: D, nl: D, fr: D}\n"
        "battery: [{questionnaire: who5}]\n"
    )
    with pytest.raises(ProgrammeDefinitionError, match=message):
        load_programme_definition(definition_text(tmp_path, header + body), REGISTRY.versions)


@pytest.fixture
def installed(db: SQLAlchemy, make_organisation: Callable[..., Organisation]) -> tuple:
    store_published_versions(db.session, REGISTRY)
    organisation = make_organisation()
    programme, created = install_programme(
        db.session, organisation, load_programme_definition(DEFAULT_PROGRAMME, REGISTRY.versions)
    )
    assert created
    return organisation, programme


def test_installing_twice_leaves_the_programme_alone(db: SQLAlchemy, installed: tuple) -> None:
    organisation, programme = installed
    again, created = install_programme(
        db.session, organisation, load_programme_definition(DEFAULT_PROGRAMME, REGISTRY.versions)
    )
    assert (again.id, created) == (programme.id, False)
    assert [t.key for t in programme.timepoints] == ["t0", "t3m", "t6m", "t12m"]


def test_a_programme_may_not_give_another_organisations_own_questionnaire(
    db: SQLAlchemy, make_organisation: Callable[..., Organisation]
) -> None:
    store_published_versions(db.session, REGISTRY)
    court_a, court_b = make_organisation("Court A"), make_organisation("Court B")
    for key in ("phq9", "arq"):
        db.session.get_one(QuestionnaireKey, key).organisation_id = court_a.id
    definition = load_programme_definition(DEFAULT_PROGRAMME, REGISTRY.versions)

    with pytest.raises(ProgrammeInstallError) as refused:
        install_programme(db.session, court_b, definition)

    message = str(refused.value)
    assert message.startswith("programme drug_treatment_court cannot be installed for 'Court B': ")
    assert "arq (timepoints t0, t3m, t6m, t12m) is the own questionnaire of 'Court A'" in message
    assert "phq9 (timepoints t0, t3m, t6m, t12m) is the own questionnaire of 'Court A'" in message
    assert "gives only its organisation's own questionnaires and the shared ones" in message
    assert db.session.scalar(select(Programme).where(Programme.organisation_id == court_b.id)) is None
    programme, created = install_programme(db.session, court_a, definition)  # its own and the shared ones
    assert created and programme.organisation_id == court_a.id


def test_a_counsellor_may_leave_out_optional_questionnaires_only(db: SQLAlchemy, installed: tuple) -> None:
    _, programme = installed
    intake = programme.timepoints[0]
    full = [row.key for row in resolve_battery(db.session, intake)]
    short = [row.key for row in resolve_battery(db.session, intake, leave_out={"gad7", "k10", "arq"})]
    assert len(full) == 14 and len(short) == 11 and "gad7" not in short
    with pytest.raises(AssessmentError, match="phq9 is core at Intake and cannot be left out"):
        resolve_battery(db.session, intake, leave_out={"phq9"})
    with pytest.raises(AssessmentError, match="bdi is not in the battery"):
        resolve_battery(db.session, intake, leave_out={"bdi"})


def test_the_battery_and_its_optional_questionnaires_are_read_in_one_query_each(
    db: SQLAlchemy,
    installed: tuple,
    make_client: Callable[..., Client],
    query_count: Callable[[], Any],
) -> None:
    _, programme = installed
    intake = programme.timepoints[0]
    client = make_client(programme=programme)
    assert intake.battery  # loaded before counting
    with query_count() as counted:
        full = resolve_battery(db.session, intake)
    assert len(full) == 14 and counted[0] == 1
    with query_count() as counted:
        optional = optional_questionnaires(db.session, client, intake)
    assert {row.key for row in optional} >= {"gad7", "k10", "arq"}
    assert counted[0] == 2  # whether a session was started, then every optional version at once


def test_starting_a_session_gives_the_chosen_versions_once(
    db: SQLAlchemy, installed: tuple, make_client: Callable[..., Client]
) -> None:
    _, programme = installed
    client = make_client(programme=programme, preferred_language="nl")
    intake = programme.timepoints[0]
    assessment = start_session(db.session, client, intake, leave_out={"arq"})
    assert assessment.language == "nl" and assessment.status == "open"
    assert [given.questionnaire_version.key for given in assessment.questionnaires][:3] == [
        "who5",
        "phq9",
        "rses",
    ]
    with pytest.raises(AssessmentError, match="already has a session at Intake"):
        start_session(db.session, client, intake)
    client.status = "withdrawn"
    with pytest.raises(AssessmentError, match=r"is not active \(Withdrawn\)"):
        start_session(db.session, client, programme.timepoints[1])


def test_installing_keeps_every_language_and_falls_back_to_english(installed: tuple) -> None:
    _, programme = installed
    assert (programme.name, programme.name_in("nl")) == ("Drug Treatment Court", "Drugbehandelingskamer")
    assert programme.description_in("fr").startswith("Les personnes qui commettent")
    t6m = programme.timepoints[2]
    assert t6m.label == "6 months (end of programme)" and t6m.label_in("fr") == "6 mois (fin du programme)"
    assert t6m.label_in("de") == "6 months (end of programme)"  # a language without a text: English
    assert plan_of(t6m).label_in("nl") == "6 maanden (einde programma)"  # the schedules carry them too


def test_a_window_reaching_past_its_neighbour_is_named_with_every_timepoint_it_overlaps() -> None:
    from survey_app.programmes.definition import TimepointDefinition, overlapping_windows

    def timepoint(key: str, offset: int, after: int = 7) -> TimepointDefinition:
        return TimepointDefinition(key, key, "intake", offset, 7, after, ())

    wide, middle, late = timepoint("t0", 0, after=200), timepoint("t3m", 91), timepoint("t6m", 182)
    assert overlapping_windows([late, wide, middle]) == [("t0", "t3m"), ("t0", "t6m")]
    assert overlapping_windows([wide, timepoint("t12m", 365)]) == []
