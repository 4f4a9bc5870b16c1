"""Answers that waited on a device: the newest answer to an item wins, whatever order the devices send in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import Answer, AssessmentSession, ClientModeSession, Score
from survey_app.models.base import utcnow
from survey_app.services.client_access import open_client_mode
from survey_app.web.client.guard import CLIENT_MODE_KEY
from tests.api.test_answers import entry, put, stored
from tests.api.test_submit import KEY, WHO5, submit
from tests.client.fixtures import page_csrf

Handover = Callable[..., AssessmentSession]
MINUTE_MS = 60_000


def waited(item: str, value: Any, age_ms: int, questionnaire: str = "tablet_form") -> dict[str, Any]:
    """An answer the device took ``age_ms`` milliseconds before sending it."""
    return {**entry(item, value, questionnaire), "age_ms": age_ms}


def second_device(app: Flask, db: SQLAlchemy, assessment: AssessmentSession) -> tuple[FlaskClient, str]:
    """A phone opened on the same session with a code: the browser and its page's CSRF token."""
    _token, row = open_client_mode(db.session, assessment, via="code")
    db.session.commit()
    phone = app.test_client()
    with phone.session_transaction() as session:
        session[CLIENT_MODE_KEY] = _token
        session["language"] = "en"
    assert row.id is not None
    return phone, page_csrf(phone, "/client/")


def answer_row(db: SQLAlchemy, assessment: AssessmentSession, item: str) -> Answer:
    """The stored answer to one item, read afresh."""
    db.session.expire_all()
    row = db.session.scalar(select(Answer).where(Answer.session_id == assessment.id, Answer.item_id == item))
    assert row is not None, f"{item} is not stored"
    return row


def test_an_answer_that_waited_on_the_tablet_does_not_replace_the_newer_one_given_on_the_phone(
    app: Flask, client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    phone, phone_csrf = second_device(app, db, assessment)
    assert put(phone, assessment.public_id, [entry("mood", 4)], token=phone_csrf).status_code == 200
    late = put(client, assessment.public_id, [waited("mood", 2, MINUTE_MS), entry("days_used", 3)])
    assert late.status_code == 200, late.get_json()
    body = late.get_json()
    assert body["not_stored"] == [
        {"questionnaire": "tablet_form", "item": "mood", "reason": "superseded", "value": 4}
    ]
    assert body["saved"] == [{"questionnaire": "tablet_form", "item": "days_used"}]
    assert stored(db, assessment) == {"mood": 4, "days_used": 3}
    put(client, assessment.public_id, [entry("mood", 1)])  # given now, after the phone's: it counts
    assert stored(db, assessment)["mood"] == 1


def test_an_answer_given_after_the_other_devices_one_wins_even_when_it_arrives_late(
    app: Flask, client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    phone, phone_csrf = second_device(app, db, assessment)
    put(phone, assessment.public_id, [waited("mood", 4, 10 * MINUTE_MS)], token=phone_csrf)
    response = put(client, assessment.public_id, [waited("mood", 2, 5 * MINUTE_MS)])
    assert response.get_json()["not_stored"] == []
    assert stored(db, assessment) == {"mood": 2}


def test_one_devices_answers_count_in_the_order_they_arrive_whatever_their_age(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    """A device sends its answers one request after the other: a later request holds a later answer."""
    assessment = hand_over()
    put(client, assessment.public_id, [entry("mood", 2)])
    response = put(client, assessment.public_id, [waited("mood", 3, MINUTE_MS)])
    assert response.get_json()["not_stored"] == []
    assert stored(db, assessment) == {"mood": 3}


def test_an_answer_is_stored_with_when_it_was_given_and_the_device_that_gave_it(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    put(client, assessment.public_id, [waited("mood", 2, 2 * MINUTE_MS)])
    row = answer_row(db, assessment, "mood")
    tablet = db.session.scalar(
        select(ClientModeSession.id).where(ClientModeSession.assessment_session_id == assessment.id)
    )
    assert row.client_mode_session_id == tablet
    assert abs(utcnow() - timedelta(minutes=2) - row.updated_at) < timedelta(seconds=30)
    assert row.answered_at == row.updated_at
    put(client, assessment.public_id, [entry("mood", 3)])
    changed = answer_row(db, assessment, "mood")
    assert changed.answered_at == row.answered_at  # first answered then; the value now is from just now
    assert abs(utcnow() - changed.updated_at) < timedelta(seconds=30)


def test_the_form_without_javascript_names_the_device_too(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    form = {"csrf_token": page_csrf(client, "/client/q/1/1"), "shown": "mood", "mood": "4"}
    assert client.post("/client/q/1/1", data=form).status_code == 302
    tablet = db.session.scalar(
        select(ClientModeSession.id).where(ClientModeSession.assessment_session_id == assessment.id)
    )
    assert answer_row(db, assessment, "mood").client_mode_session_id == tablet


def test_a_submit_keeps_the_newer_answer_of_the_other_device_and_scores_it(
    app: Flask, client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    phone, phone_csrf = second_device(app, db, assessment)
    put(phone, assessment.public_id, [entry("who5_calm", 0, "who5")], token=phone_csrf)
    token = page_csrf(client, "/client/")
    late = [{**answer, "age_ms": MINUTE_MS} for answer in [*WHO5, entry("mood", 3)]]  # WHO-5 all at 4
    response = submit(client, assessment.public_id, {"idempotency_key": KEY, "answers": late}, token)
    assert response.status_code == 200, response.get_json()
    assert stored(db, assessment)["who5_calm"] == 0
    raw = db.session.scalar(
        select(Score.value).where(Score.session_id == assessment.id, Score.scale_id == "raw")
    )
    assert raw == 16
    again = [{**answer, "age_ms": answer["age_ms"] + 5_000} for answer in late]  # the retry waited 5 s more
    replay = submit(client, assessment.public_id, {"idempotency_key": KEY, "answers": again}, token)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("age", [-1, "60000", True, 1.5, None])
def test_an_age_that_is_not_a_whole_number_of_milliseconds_is_refused(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover, age: Any
) -> None:
    assessment = hand_over()
    response = put(client, assessment.public_id, [waited("mood", 2, age)])
    body = response.get_json()
    assert response.status_code == 422 and body["problems"][0]["code"] == "bad_age"
    assert stored(db, assessment) == {}


def test_an_age_beyond_what_a_device_keeps_counts_as_fifteen_days(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    assert put(client, assessment.public_id, [waited("mood", 2, 10**30)]).status_code == 200
    given = answer_row(db, assessment, "mood").updated_at
    assert abs(utcnow() - timedelta(days=15) - given) < timedelta(minutes=1)


def test_an_answer_that_waited_does_not_come_back_once_the_client_took_it_back_on_another_device(
    app: Flask, client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    phone, phone_csrf = second_device(app, db, assessment)
    put(phone, assessment.public_id, [entry("mood", 4)], token=phone_csrf)
    put(phone, assessment.public_id, [entry("mood", None)], token=phone_csrf)  # taken back
    late = put(client, assessment.public_id, [waited("mood", 2, MINUTE_MS)])
    assert late.get_json()["not_stored"] == [
        {"questionnaire": "tablet_form", "item": "mood", "reason": "superseded", "value": None}
    ]
    assert stored(db, assessment) == {}
    put(client, assessment.public_id, [entry("mood", 1)])  # given after the clearing: it counts
    assert stored(db, assessment) == {"mood": 1}


def test_a_clearing_that_waited_does_not_take_back_a_newer_answer_from_another_device(
    app: Flask, client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    phone, phone_csrf = second_device(app, db, assessment)
    put(phone, assessment.public_id, [entry("mood", 4)], token=phone_csrf)
    late = put(client, assessment.public_id, [waited("mood", None, MINUTE_MS)])
    assert late.get_json()["not_stored"][0]["value"] == 4
    assert stored(db, assessment) == {"mood": 4}
