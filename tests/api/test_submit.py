"""Exactly-once submit: the same key replays, another payload with it is refused, a sent session is closed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from survey_app.models import (
    Answer,
    AssessmentSession,
    AuditEvent,
    ClientModeSession,
    Score,
    ScoreFlag,
    Submission,
)
from survey_app.web.client.guard import CLIENT_MODE_KEY
from tests.api.test_answers import entry, put, stored
from tests.client.fixtures import page_csrf, sign_in
from tests.client.support import TabletWorld, build_world, store_bank
from tests.conftest import staff_password_hash, unique
from tests.counsellor.conftest import PHQ9_ITEMS

Handover = Callable[..., AssessmentSession]
KEY = "k1-" + "a" * 30
WHO5 = [
    entry(item, 4, "who5")
    for item in ("who5_cheerful", "who5_calm", "who5_active", "who5_rested", "who5_interest")
]


def submit(client: FlaskClient, public_id: str, body: dict[str, Any], token: str) -> TestResponse:
    """POST a submit as the page's script does."""
    return client.post(
        f"/api/v1/sessions/{public_id}/submit",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )


def _count(db: SQLAlchemy, model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_submit_stores_the_last_answers_scores_and_closes_the_session(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    put(client, assessment.public_id, WHO5[:4], token=token)
    body = {"idempotency_key": KEY, "answers": [WHO5[4], entry("mood", 3)]}
    response = submit(client, assessment.public_id, body, token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "submitted" and response.get_json()["next"] == "/client/done"
    assert "Idempotent-Replayed" not in response.headers
    db.session.refresh(assessment)
    assert assessment.status == "submitted" and assessment.submitted_at is not None
    assert stored(db, assessment)["who5_interest"] == 4 and stored(db, assessment)["mood"] == 3
    percentage = db.session.scalar(
        select(Score.value).where(Score.session_id == assessment.id, Score.scale_id == "percentage")
    )
    assert percentage == 80
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.submit"))
    assert audit is not None and audit.actor_type == "client" and audit.details["answers"] == 6
    assert set(audit.details) == {"client_id", "answers", "hidden_removed", "questionnaires"}  # counts only


def test_a_retry_with_the_same_key_replays_and_never_submits_twice(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    body = {"idempotency_key": KEY, "answers": [entry("mood", 2), *WHO5]}
    first = submit(client, assessment.public_id, body, token)
    again = submit(client, assessment.public_id, {**body, "answers": list(reversed(body["answers"]))}, token)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _count(db, Submission) == 1
    other = submit(client, assessment.public_id, {**body, "answers": [entry("mood", 3)]}, token)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    second_key = submit(client, assessment.public_id, {"idempotency_key": "k2-" + "b" * 30}, token)
    assert second_key.status_code == 409 and second_key.get_json()["code"] == "session_submitted"
    late = put(client, assessment.public_id, [entry("mood", 4)], token=token)
    assert late.status_code == 409
    assert stored(db, assessment)["mood"] == 2 and _count(db, Submission) == 1


def test_answers_of_hidden_items_are_removed_at_submit(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    put(
        client,
        assessment.public_id,
        [entry("mood", 4), entry("mood_why", "sun"), entry("income", [3])],
        token=token,
    )
    put(client, assessment.public_id, [entry("income_other", "gifts")], token=token)
    put(
        client, assessment.public_id, [entry("mood", 1), entry("income", [1])], token=token
    )  # hides both again
    assert {"mood_why", "income_other"} <= set(stored(db, assessment))
    response = submit(client, assessment.public_id, {"idempotency_key": KEY}, token)
    assert response.status_code == 200
    assert stored(db, assessment) == {"mood": 1, "income": [1]}


def test_a_required_question_left_empty_stops_the_submit(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    response = submit(client, assessment.public_id, {"idempotency_key": KEY, "answers": WHO5}, token)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "required_unanswered"
    assert [problem["item"] for problem in body["problems"]] == ["mood"]
    db.session.refresh(assessment)
    assert assessment.status == "open" and _count(db, Submission) == 0 and stored(db, assessment) == {}


def test_bad_keys_and_bad_answers_stop_the_submit(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    for body in (
        {"idempotency_key": "short", "answers": [entry("mood", 1)]},
        {"idempotency_key": "x" * 129, "answers": [entry("mood", 1)]},
        {"idempotency_key": "has spaces and more than 16", "answers": [entry("mood", 1)]},
        {"idempotency_key": 12345678901234567890, "answers": [entry("mood", 1)]},
        {"idempotency_key": KEY, "answers": [entry("mood", 9)]},
    ):
        response = submit(client, assessment.public_id, body, token)
        assert response.status_code == 422, body
    assert submit(client, assessment.public_id, {"key": KEY}, token).status_code == 400
    assert _count(db, Submission) == 0 and stored(db, assessment) == {}


def test_a_phone_submit_ends_client_mode_and_a_lost_reply_is_replayed(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    sign_in(client, db, world.counsellor)
    page = client.post(f"/client-mode/code/{world.client.code}", data={"csrf_token": page_csrf(client)})
    code = re.search(r">([A-Z0-9]{4}-[A-Z0-9]{4})<", page.get_data(as_text=True))
    assert code
    with client.session_transaction() as session:
        session.clear()
    client.post("/client/start", data={"csrf_token": page_csrf(client), "code": code.group(1)})
    assessment = db.session.scalar(select(AssessmentSession))
    assert assessment is not None
    token = page_csrf(client, "/client/")
    with client.session_transaction() as session:
        cookie_before = dict(session)  # what the phone still holds if the reply is lost
    body = {"idempotency_key": KEY, "answers": [entry("mood", 2)]}
    assert submit(client, assessment.public_id, body, token).status_code == 200
    with client.session_transaction() as session:
        assert CLIENT_MODE_KEY not in session and session["client_done"] is True
        session.clear()
        session.update(cookie_before)
    replay = submit(client, assessment.public_id, body, token)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    row = db.session.scalar(select(ClientModeSession))
    assert row is not None and row.end_reason == "submitted"
    assert client.get("/client/done").status_code == 200
    assert put(client, assessment.public_id, [entry("mood", 3)], token=token).status_code in (400, 401)
    assert _count(db, Submission) == 1 and _count(db, Answer) == 1


def test_a_risk_flag_raised_at_submit_is_an_audited_alert_without_its_meaning(
    client: FlaskClient, db: SQLAlchemy
) -> None:
    world = build_world(
        db.session, [store_bank(db.session, "phq9")], tag=unique("R"), password_hash=staff_password_hash()
    )
    sign_in(client, db, world.counsellor)
    client.post(f"/client-mode/start/{world.client.code}", data={"csrf_token": page_csrf(client)})
    assessment = db.session.scalar(
        select(AssessmentSession).where(AssessmentSession.client_id == world.client.id)
    )
    assert assessment is not None
    answers = [entry(item, 1, "phq9") for item in PHQ9_ITEMS]  # item 9 answered "several days"
    token = page_csrf(client, "/client/")
    assert (
        submit(client, assessment.public_id, {"idempotency_key": KEY, "answers": answers}, token).status_code
        == 200
    )
    flag = db.session.scalar(select(ScoreFlag).where(ScoreFlag.session_id == assessment.id))
    assert flag is not None and flag.flag_id == "item9_risk" and flag.raised_at is not None
    raised = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.raise")).all()
    assert [(event.object_type, event.object_id) for event in raised] == [("score_flag", str(flag.id))]
    assert raised[0].details == {"client_id": world.client.id, "session": assessment.public_id}
    assert "item9" not in json.dumps(raised[0].details)  # what the alert is about stays out of the audit
