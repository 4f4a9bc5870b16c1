"""Stored questionnaire versions, scoring stored sessions, and explicit re-scoring."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.domain.scoring import SCORER_VERSION
from survey_app.models import AssessmentSession, QuestionnaireVersion
from survey_app.models.assessment import Answer, Score, ScoreFlag
from survey_app.models.base import utcnow
from survey_app.questionnaires.loader import load_questionnaire_file
from survey_app.questionnaires.registry import PublicationError, QuestionnaireRegistry
from survey_app.services.questionnaires import find_version, questionnaire_of, store_published_versions
from survey_app.services.scoring import RescoreReport, plan_rescore, rescore_batch, score_session

BANK = Path(__file__).resolve().parents[2] / "questionnaires"


@pytest.fixture
def bank(app: Flask, db: SQLAlchemy) -> QuestionnaireRegistry:
    registry = QuestionnaireRegistry(BANK)
    store_published_versions(db.session, registry)
    db.session.flush()
    return registry


def answer(
    db: SQLAlchemy, assessment: AssessmentSession, version: QuestionnaireVersion, **values: object
) -> None:
    for item_id, value in values.items():
        db.session.add(
            Answer(
                session_id=assessment.id, questionnaire_version_id=version.id, item_id=item_id, value=value
            )
        )
    db.session.flush()


def test_storing_is_idempotent_and_keeps_the_exact_text(db: SQLAlchemy, bank: QuestionnaireRegistry) -> None:
    again = store_published_versions(db.session, bank)
    assert again.stored == [] and len(again.already_stored) == 14
    row = find_version(db.session, "who5")
    assert row is not None and row.version == 1
    assert row.source_yaml == (BANK / "who5" / "v1.yaml").read_text(encoding="utf-8")
    assert row.snapshot["key"] == "who5"
    assert questionnaire_of(row).content_hash == row.content_hash


def test_every_stored_version_comes_back_exactly_as_its_checked_file(
    db: SQLAlchemy, bank: QuestionnaireRegistry
) -> None:
    rows = db.session.scalars(select(QuestionnaireVersion)).all()
    assert len(rows) == 14
    for row in rows:  # rebuilt without the schema check, which the file passed when it was published
        assert questionnaire_of(row) == load_questionnaire_file(BANK / row.key / f"v{row.version}.yaml")


def test_a_stored_text_changed_in_the_database_is_refused(
    db: SQLAlchemy, bank: QuestionnaireRegistry
) -> None:
    row = find_version(db.session, "phq9")
    assert row is not None
    row.source_yaml = row.source_yaml.replace("items:", "items:  ", 1)
    with pytest.raises(PublicationError, match=r"the stored text of phq9 v1 does not match its hash"):
        questionnaire_of(row)


def test_a_database_version_that_differs_from_the_file_is_refused(
    db: SQLAlchemy, make_questionnaire_version: Callable[..., QuestionnaireVersion]
) -> None:
    make_questionnaire_version(key="who5", version=1)  # same key and version, other content
    with pytest.raises(
        PublicationError, match=r"who5/v1\.yaml differs from the version stored in the database"
    ):
        store_published_versions(db.session, QuestionnaireRegistry(BANK))


def test_old_answers_are_scored_with_the_stored_text_not_todays_file(
    db: SQLAlchemy, bank: QuestionnaireRegistry, tmp_path: Path
) -> None:
    row = find_version(db.session, "phq9")
    assert row is not None
    questionnaire = questionnaire_of(row)
    assert (
        questionnaire.item("phq9_selfharm")
        .text["en"]
        .startswith("Thoughts that you would be better off dead")
    )


def test_score_session_writes_scores_and_flags(
    db: SQLAlchemy, bank: QuestionnaireRegistry, make_assessment_session: Callable[..., AssessmentSession]
) -> None:
    phq9 = find_version(db.session, "phq9")
    assert phq9 is not None
    assessment = make_assessment_session(versions=[phq9])
    answer(
        db,
        assessment,
        phq9,
        phq9_interest=2,
        phq9_down=2,
        phq9_sleep=1,
        phq9_tired=2,
        phq9_appetite=1,
        phq9_failure=1,
        phq9_concentration=1,
        phq9_psychomotor=1,
        phq9_selfharm=2,
    )
    results = score_session(db.session, assessment)
    assert results["phq9"].scales["total"].value == 13
    stored = db.session.scalars(select(Score).where(Score.session_id == assessment.id)).all()
    assert [(s.scale_id, s.value, s.band, s.prorated, s.missing_count, s.scorer_version) for s in stored] == [
        ("total", 13, "moderate", False, 0, SCORER_VERSION)
    ]
    flags = db.session.scalars(select(ScoreFlag).where(ScoreFlag.session_id == assessment.id)).all()
    assert [(f.flag_id, f.severity) for f in flags] == [("item9_risk", "urgent")]


def test_rescore_records_the_scorer_version_and_keeps_acknowledged_flags(
    db: SQLAlchemy, bank: QuestionnaireRegistry, make_assessment_session: Callable[..., AssessmentSession]
) -> None:
    phq9 = find_version(db.session, "phq9")
    assert phq9 is not None
    assessment = make_assessment_session(versions=[phq9], status="submitted", submitted_at=utcnow())
    answer(
        db,
        assessment,
        phq9,
        phq9_interest=1,
        phq9_selfharm=1,
        phq9_down=1,
        phq9_sleep=1,
        phq9_tired=1,
        phq9_appetite=1,
        phq9_failure=1,
        phq9_concentration=1,
        phq9_psychomotor=1,
    )
    score_session(db.session, assessment)
    score_row = db.session.scalars(select(Score).where(Score.session_id == assessment.id)).one()
    score_row.scorer_version, score_row.value, score_row.band = "0.9.0", 99.0, None  # an older, wrong scorer
    flag = db.session.scalars(select(ScoreFlag).where(ScoreFlag.session_id == assessment.id)).one()
    flag.acknowledged_at = utcnow()
    db.session.flush()
    # The answer to item 9 is corrected to 0 (for example after a data-entry check): the flag is no longer
    # raised, but the counsellor's acknowledgement is history and stays.
    db.session.execute(
        Answer.__table__.update()
        .where(Answer.session_id == assessment.id, Answer.item_id == "phq9_selfharm")
        .values(value=0)
    )
    report = RescoreReport()
    for batch in plan_rescore(db.session, key="phq9"):
        rescore_batch(db.session, batch, report)
    db.session.expire_all()
    rescored = db.session.scalars(select(Score).where(Score.session_id == assessment.id)).one()
    assert (rescored.value, rescored.band, rescored.scorer_version) == (8, "mild", SCORER_VERSION)
    assert report.sessions == 1 and report.changed_scores == 1
    assert (
        db.session.scalars(select(ScoreFlag).where(ScoreFlag.session_id == assessment.id)).one().flag_id
        == "item9_risk"
    )


def test_rescore_skips_open_sessions(
    db: SQLAlchemy, bank: QuestionnaireRegistry, make_assessment_session: Callable[..., AssessmentSession]
) -> None:
    who5 = find_version(db.session, "who5")
    assert who5 is not None
    make_assessment_session(versions=[who5])
    assert list(plan_rescore(db.session, key="who5")) == []
