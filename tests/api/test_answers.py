"""Autosave through the JSON API: checked against the stored version, skip rules re-checked, bad input out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from survey_app.models import Answer, AssessmentSession
from survey_app.services.client_access import start_or_resume
from survey_app.web.api import MAX_BODY_BYTES
from tests.client.fixtures import page_csrf
from tests.client.support import TabletWorld, build_world
from tests.conftest import unique

Handover = Callable[..., AssessmentSession]


def put(client: FlaskClient, public_id: str, answers: Any, *, token: str | None = None) -> TestResponse:
    """PUT answers as the page's script does (JSON, CSRF header)."""
    return client.put(
        f"/api/v1/sessions/{public_id}/answers",
        data=json.dumps({"answers": answers}),
        headers={"Content-Type": "application/json", "X-CSRFToken": token or page_csrf(client, "/client/")},
    )


def entry(item: str, value: Any, questionnaire: str = "tablet_form", version: int = 1) -> dict[str, Any]:
    """One answer as the API takes it."""
    return {"questionnaire": questionnaire, "version": version, "item": item, "value": value}


def stored(db: SQLAlchemy, assessment: AssessmentSession) -> dict[str, Any]:
    """The answers in the database."""
    rows = db.session.execute(select(Answer.item_id, Answer.value).where(Answer.session_id == assessment.id))
    return {item: value for item, value in rows}


def test_answers_are_saved_as_given_and_updated_in_place(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    response = put(client, assessment.public_id, [entry("mood", 2), entry("income", [1, 3])])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "open" and len(body["saved"]) == 2 and body["not_stored"] == []
    assert response.headers["Cache-Control"] == "no-store"
    put(client, assessment.public_id, [entry("mood", 4), entry("who5_calm", 3, "who5")])
    assert stored(db, assessment) == {"mood": 4, "income": [1, 3], "who5_calm": 3}
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 3
    put(client, assessment.public_id, [entry("income", None)])  # clearing an answer
    assert "income" not in stored(db, assessment)
    read = client.get(f"/api/v1/sessions/{assessment.public_id}").get_json()
    assert (
        read["status"] == "open"
        and {"questionnaire": "who5", "version": 1, "item": "who5_calm", "value": 3} in (read["answers"])
    )


def test_answers_to_items_the_skip_rules_hide_are_not_stored(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    response = put(client, assessment.public_id, [entry("mood", 1), entry("mood_why", "because")])
    assert response.get_json()["not_stored"] == [
        {"questionnaire": "tablet_form", "item": "mood_why", "reason": "hidden"}
    ]
    put(client, assessment.public_id, [entry("mood", 4), entry("mood_why", "sun")])  # the rule holds now
    assert stored(db, assessment) == {"mood": 4, "mood_why": "sun"}


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ([entry("mood", 7)], "invalid_value"),  # a tampered answer code
        ([entry("mood", "2")], "invalid_value"),
        ([entry("mood", True)], "invalid_value"),
        ([entry("days_used", 29)], "invalid_value"),
        ([entry("days_used", 2.5)], "invalid_value"),
        ([entry("income", [1, 9])], "invalid_value"),  # "rather not say" with another answer
        ([entry("first_day", "31/12/2024")], "invalid_value"),
        ([entry("mood_why", "x" * 81)], "invalid_value"),
        ([entry("mood_why", "bell\x07")], "invalid_value"),
        ([entry("no_such_item", 1)], "unknown_item"),  # a tampered item id
        ([entry("mood", 1, "phq9")], "unknown_questionnaire"),
        ([entry("mood", 1, "tablet_form", 2)], "unknown_questionnaire"),
        ([{"item": "mood", "value": 1}], "bad_shape"),
        ([entry("mood", 2), entry("mood", 99)], "invalid_value"),  # one bad answer: nothing of the batch
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover, answers: list[dict[str, Any]], code: str
) -> None:
    assessment = hand_over()
    response = put(client, assessment.public_id, answers)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "invalid_answers"
    assert body["problems"][-1]["code"] == code and body["message"]
    assert stored(db, assessment) == {}


@pytest.mark.parametrize("body", ["not json", json.dumps([1, 2]), json.dumps({"answers": [], "extra": 1})])
def test_a_body_that_cannot_be_read_is_refused(client: FlaskClient, hand_over: Handover, body: str) -> None:
    assessment = hand_over()
    response = client.put(
        f"/api/v1/sessions/{assessment.public_id}/answers",
        data=body,
        headers={"Content-Type": "application/json", "X-CSRFToken": page_csrf(client, "/client/")},
    )
    assert response.status_code == 400 and response.get_json()["code"] == "bad_json"


def test_oversized_bodies_get_413_json_and_nothing_is_stored(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    answers = [entry("mood_why", "x" * 80)] * (MAX_BODY_BYTES // 80)
    response = put(client, assessment.public_id, answers)
    assert response.status_code == 413
    assert (
        response.get_json()["code"] == "too_large" and "Too much was sent" in response.get_json()["message"]
    )
    assert stored(db, assessment) == {}


def test_another_clients_session_is_not_found_and_not_touched(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover, world: TabletWorld
) -> None:
    mine = hand_over()
    other_world = build_world(db.session, world.versions, tag=unique("O"))
    theirs = start_or_resume(
        db.session, other_world.client, other_world.timepoints[0], mode="tablet", staff=other_world.counsellor
    )
    for public_id in (theirs.public_id, "00000000-0000-0000-0000-000000000000", "not-a-session"):
        response = put(client, public_id, [entry("mood", 2)])
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"
        assert client.get(f"/api/v1/sessions/{public_id}").status_code == 404
    assert stored(db, theirs) == {} and stored(db, mine) == {}


def test_the_api_needs_a_live_client_mode(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover, world: TabletWorld
) -> None:
    assessment = hand_over()
    token = page_csrf(client, "/client/")
    client.post("/client/lock", data={"csrf_token": token})
    locked = put(client, assessment.public_id, [entry("mood", 2)], token=token)
    assert locked.status_code == 401 and locked.get_json()["code"] == "locked"
    with client.session_transaction() as session:
        session.clear()
    closed = client.get(f"/api/v1/sessions/{assessment.public_id}")
    assert closed.status_code == 401 and closed.get_json()["code"] == "closed"
    assert stored(db, assessment) == {}


def test_without_the_csrf_header_nothing_is_stored(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    response = client.put(
        f"/api/v1/sessions/{assessment.public_id}/answers",
        data=json.dumps({"answers": [entry("mood", 2)]}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.is_json
    assert stored(db, assessment) == {}


def test_hostile_text_is_stored_as_given_and_shown_escaped(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    hostile = '</script><script>alert(1)</script>{{ 7*7 }}" onload="x'
    response = put(client, assessment.public_id, [entry("mood", 4), entry("mood_why", hostile)])
    assert response.status_code == 200 and stored(db, assessment)["mood_why"] == hostile
    for path in ("/client/q/1/2", "/client/review"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in page and "{{ 7*7 }}" in page  # never markup, never a template
        assert "&lt;/script&gt;" in page


def test_every_kind_of_value_reads_back_exactly_as_it_was_saved(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    given = {
        "mood": 3,
        "mood_why": 'Beter, "echt" \\ merci: ça va 🙂',
        "days_used": 0,
        "days_ok": 1,
        "income": [1, 3],
        "rating": 7,
        "first_day": "2026-11-30",
    }
    response = put(client, assessment.public_id, [entry(item, value) for item, value in given.items()])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["not_stored"] == []
    saved = stored(db, assessment)
    assert saved == given
    assert {item: type(value) for item, value in saved.items()} == {
        item: type(value) for item, value in given.items()
    }
