"""The demo: deterministic, realistic, valid answers; loaded once; never in production."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.demo.answers import simulate_answers
from survey_app.domain.answers import validate_answers
from survey_app.domain.scoring import hidden_items, score
from survey_app.models import Answer, AssessmentSession, Client, Organisation, QuestionnaireKey, Score
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services.accounts import verify_password
from survey_app.services.demo import DEMO_ORGANISATION
from survey_app.services.questionnaires import store_published_versions

BANK = Path(__file__).resolve().parents[2] / "questionnaires"
REGISTRY = QuestionnaireRegistry(BANK)


@pytest.mark.parametrize("key", REGISTRY.keys())
def test_simulated_answers_are_valid_respect_skip_rules_and_follow_well_being(key: str) -> None:
    questionnaire = REGISTRY.get(key)
    rng = random.Random(5)
    for wellbeing in [rng.gauss(0, 1.2) for _ in range(150)]:
        answers = simulate_answers(questionnaire, wellbeing, rng)
        assert validate_answers(questionnaire, answers) == {}
        assert not set(answers) & hidden_items(questionnaire, answers)


def test_better_well_being_gives_better_scores() -> None:
    who5, phq9 = REGISTRY.get("who5"), REGISTRY.get("phq9")
    rng = random.Random(9)

    def mean(questionnaire, scale_id: str, wellbeing: float) -> float:
        values = [
            score(questionnaire, simulate_answers(questionnaire, wellbeing, rng, missing_rate=0))
            .scales[scale_id]
            .value
            for _ in range(100)
        ]
        return sum(values) / len(values)

    assert mean(who5, "raw", 1.5) > mean(who5, "raw", -1.5) + 8
    assert mean(phq9, "total", 1.5) < mean(phq9, "total", -1.5) - 8


def seed(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["demo", "seed", *args])


def test_seed_creates_a_realistic_deterministic_demo(app: Flask, db: SQLAlchemy) -> None:
    result = seed(app, "--clients", "40", "--today", "2026-11-26")
    assert result.exit_code == 0, result.output
    codes = db.session.scalars(select(Client.code).order_by(Client.code)).all()
    assert codes[:3] == ["DEMO-0001", "DEMO-0002", "DEMO-0003"] and len(codes) == 40
    statuses = dict(
        db.session.execute(
            select(AssessmentSession.status, func.count()).group_by(AssessmentSession.status)
        ).all()
    )
    assert statuses["submitted"] > 40
    answers = db.session.scalar(select(func.count()).select_from(Answer))
    scored = db.session.execute(select(Score.scale_id, Score.band, Score.prorated, Score.value)).all()
    assert answers > 5000
    assert any(row.prorated for row in scored), "some scales are prorated"
    assert any(row.value is None for row in scored), "some scales cannot be scored"
    phq9_bands = {
        row.band
        for row in scored
        if row.scale_id == "total"
        and row.band in {"minimal", "mild", "moderate", "moderately_severe", "severe"}
    }
    assert len(phq9_bands) >= 3
    per_client = db.session.execute(
        select(AssessmentSession.client_id, func.count()).group_by(AssessmentSession.client_id)
    ).all()
    assert len({count for _, count in per_client}) > 1, "clients are at different stages"
    unrecorded = db.session.scalar(
        select(func.count())
        .select_from(AssessmentSession)
        .where(AssessmentSession.timepoint_id.is_not(None), AssessmentSession.due_offset_days.is_(None))
    )
    assert unrecorded == 0, "every demo session keeps the schedule it was due on, as started sessions do"
    from survey_app.models.security import ConsentRecord

    consents = db.session.execute(
        select(ConsentRecord.purpose, ConsentRecord.granted, ConsentRecord.share_scores)
    ).all()
    assert sum(1 for purpose, *_ in consents if purpose == "care") == 40
    court = [(granted, scores) for purpose, granted, scores in consents if purpose == "court"]
    assert any(granted for granted, _ in court) and not all(granted for granted, _ in court)
    assert any(scores for _, scores in court), "some clients share scores with the court"
    credentials_file = Path(app.instance_path) / "demo-credentials.txt"
    assert f"with the password in {credentials_file}." in result.output, "the printed path is the real one"
    credentials = credentials_file.read_text()
    password = credentials.splitlines()[1].removeprefix("password: ")
    from survey_app.models import StaffUser

    counsellor = db.session.scalar(select(StaffUser).where(StaffUser.email == "counsellor@demo.example.org"))
    assert counsellor is not None and verify_password(counsellor.password_hash, password)
    again = seed(app, "--if-empty")
    assert again.exit_code == 0 and "already loaded" in again.output
    refused = seed(app)
    assert refused.exit_code == 1 and "already loaded" in refused.output


def test_the_same_seed_gives_the_same_demo(app: Flask, db: SQLAlchemy, tmp_path: Path) -> None:
    from survey_app.programmes.definition import DEFAULT_PROGRAMME, load_programme_definition
    from survey_app.services.demo import seed_demo
    from survey_app.services.questionnaires import store_published_versions

    store_published_versions(db.session, REGISTRY)
    definition = load_programme_definition(DEFAULT_PROGRAMME, REGISTRY.versions)
    first = seed_demo(
        db.session, definition, clients=15, password_hash="x" * 20, today=dt.date(2026, 11, 26), seed=7
    )
    snapshot = db.session.execute(
        select(Client.code, Client.intake_date, Client.status).order_by(Client.code)
    ).all()
    db.session.rollback()
    store_published_versions(db.session, REGISTRY)
    second = seed_demo(
        db.session, definition, clients=15, password_hash="x" * 20, today=dt.date(2026, 11, 26), seed=7
    )
    assert (first.sessions, first.answers) == (second.sessions, second.answers)
    assert (
        db.session.execute(select(Client.code, Client.intake_date, Client.status).order_by(Client.code)).all()
        == snapshot
    )


def test_the_demo_is_refused_in_production(tmp_path: Path) -> None:
    from survey_app import create_app

    app = create_app(
        "production",
        DATABASE_URL=f"sqlite:///{tmp_path}/p.sqlite3",
        SECRET_KEY="s" * 40,
        SURVEY_INSTANCE_PATH=str(tmp_path),
    )
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 1
    assert "not loaded in production" in result.output


def test_the_demo_is_refused_when_its_programme_gives_another_organisations_questionnaire(
    app: Flask, db: SQLAlchemy, make_organisation: Callable[..., Organisation]
) -> None:
    store_published_versions(db.session, REGISTRY)
    db.session.get_one(QuestionnaireKey, "k10").organisation_id = make_organisation("Court A").id
    db.session.commit()

    result = seed(app, "--clients", "1")

    assert result.exit_code == 1
    assert f"programme drug_treatment_court cannot be installed for '{DEMO_ORGANISATION}'" in result.output
    assert "k10 (timepoints t0, t3m, t6m, t12m) is the own questionnaire of 'Court A'" in result.output
    assert "`flask questionnaires set-owner KEY --shared`" in result.output
    assert db.session.scalar(select(func.count(Client.id))) == 0
    assert db.session.scalar(select(Organisation).where(Organisation.name == DEMO_ORGANISATION)) is None
