"""The tablet's pages read in a fixed, small number of queries, however many questionnaires and answers."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.demo.answers import simulate_answers
from survey_app.models import AssessmentSession, QuestionnaireVersion
from survey_app.services.questionnaires import questionnaire_of
from survey_app.services.responses import AnswerInput, save_answers
from tests.client.fixtures import page_csrf, sign_in
from tests.client.support import build_world, store_bank
from tests.conftest import staff_password_hash

MAX_QUERIES = 12
SHORT = ("who5",)
LONG = ("who5", "phq9", "gad7", "rses", "mspss", "k10")


def _handed_over(app: Flask, db: SQLAlchemy, versions: list[QuestionnaireVersion], tag: str) -> FlaskClient:
    """A tablet handed to a client whose session holds these questionnaires, every item answered."""
    world = build_world(db.session, versions, tag=tag, password_hash=staff_password_hash())
    browser = app.test_client()
    sign_in(browser, db, world.counsellor)
    form = {"csrf_token": page_csrf(browser), "return_to": f"/counsellor/clients/{world.client.code}"}
    assert browser.post(f"/client-mode/start/{world.client.code}", data=form).status_code == 302
    assessment = db.session.scalars(
        select(AssessmentSession).where(AssessmentSession.client_id == world.client.id)
    ).one()
    rng = random.Random(3)
    entries = [
        AnswerInput(version, item_id, value)
        for version in versions
        for item_id, value in simulate_answers(questionnaire_of(version), 0.0, rng).items()
    ]
    save_answers(db.session, assessment, entries)
    db.session.flush()
    return browser


def _counts(browser: FlaskClient, query_count: Callable[[], Any], paths: list[str]) -> list[int]:
    counts = []
    for path in paths:
        with query_count() as counted:
            response = browser.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts.append(int(counted[0]))
    return counts


def test_the_tablet_pages_need_the_same_few_queries_for_one_questionnaire_and_for_six(
    app: Flask,
    db: SQLAlchemy,
    query_count: Callable[[], Any],
) -> None:
    versions = {key: store_bank(db.session, key) for key in LONG}
    short = _handed_over(app, db, [versions[key] for key in SHORT], "QSHORT")
    long = _handed_over(app, db, [versions[key] for key in LONG], "QLONG")
    pages = ["/client/", "/client/q/0/1", "/client/q/0/2", "/client/review"]
    short_counts = _counts(short, query_count, pages)
    long_counts = _counts(long, query_count, pages)
    assert long_counts == short_counts
    assert max(long_counts) <= MAX_QUERIES
    last = _counts(long, query_count, [f"/client/q/{len(LONG) - 1}/1"])
    assert last[0] == long_counts[1]  # the sixth questionnaire's screen costs what the first one's does
