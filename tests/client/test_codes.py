"""The client's own phone: typing the code or opening the QR link, wrong and expired codes, the limit."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from survey_app.models import ClientAccessCode, ClientCodeAttempt, ClientModeSession
from survey_app.models.base import utcnow
from survey_app.services.access_codes import MAX_FAILED_ATTEMPTS, issue_code
from survey_app.services.client_access import start_or_resume
from survey_app.web.client.guard import CLIENT_MODE_KEY
from tests.client.fixtures import page_csrf, sign_in
from tests.client.support import TabletWorld


def _issue(client: FlaskClient, db: SQLAlchemy, world: TabletWorld) -> str:
    """A counsellor gives a code and reads it out; the phone is a new browser afterwards."""
    sign_in(client, db, world.counsellor)
    page = client.post(f"/client-mode/code/{world.client.code}", data={"csrf_token": page_csrf(client)})
    code = re.search(r">([A-Z0-9]{4}-[A-Z0-9]{4})<", page.get_data(as_text=True))
    assert code
    with client.session_transaction() as session:
        session.clear()
    return code.group(1)


def _enter(client: FlaskClient, code: str) -> TestResponse:
    return client.post("/client/start", data={"csrf_token": page_csrf(client), "code": code})


def test_the_right_code_opens_the_questionnaires_on_the_phone(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    code = _issue(client, db, world)
    response = _enter(client, code.lower())
    assert response.status_code == 302 and response.location.endswith("/client/")
    with client.session_transaction() as session:
        assert CLIENT_MODE_KEY in session and "_user_id" not in session
    assert "There are 2 short questionnaires" in client.get("/client/").get_data(as_text=True)
    row = db.session.scalar(select(ClientModeSession))
    assert row is not None and row.via == "code" and row.started_by is None
    tools = client.get("/client/").get_data(as_text=True)
    assert "Stop for now" in tools and "Pause and lock" not in tools


def test_a_wrong_expired_or_used_code_is_explained_and_counted(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    code = _issue(client, db, world)
    wrong = _enter(client, "ZZZZ-ZZZZ")
    assert wrong.status_code == 400 and "This code is not right" in wrong.get_data(as_text=True)
    row = db.session.scalar(select(ClientAccessCode))
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    row.created_at = row.expires_at - timedelta(minutes=30)
    db.session.flush()
    expired = _enter(client, code)
    assert expired.status_code == 410 and "This code has expired" in expired.get_data(as_text=True)
    row.expires_at = utcnow() + timedelta(minutes=5)
    db.session.flush()
    assert _enter(client, code).status_code == 302
    with client.session_transaction() as session:
        session.clear()
    used = _enter(client, code)
    assert used.status_code == 410 and "already been used" in used.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ClientCodeAttempt)) == 3
    assert db.session.scalar(select(func.count()).select_from(ClientModeSession)) == 1


def test_too_many_wrong_codes_block_that_phone_for_a_while_but_not_another_on_the_same_wifi(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(client.application.config, "RATELIMIT_CLIENT_CODE", "100 per minute")  # not this one
    code = _issue(client, db, world)
    for _ in range(MAX_FAILED_ATTEMPTS):
        assert _enter(client, "ZZZZ-ZZZZ").status_code == 400
    blocked = _enter(client, code)
    page = blocked.get_data(as_text=True)
    assert blocked.status_code == 429 and "Too many tries. Please wait 15 minutes" in page
    with client.session_transaction() as session:
        assert CLIENT_MODE_KEY not in session
    neighbour = client.application.test_client()  # another client's phone, the same address
    assert _enter(neighbour, code).location.endswith("/client/")


def test_the_rate_limit_on_code_entry_counts_each_phone_on_its_own(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(client.application.config, "RATELIMIT_CLIENT_CODE", "3 per minute")
    code = _issue(client, db, world)
    assert [_enter(client, "ZZZZ-ZZZZ").status_code for _ in range(4)] == [400, 400, 400, 429]
    neighbour = client.application.test_client()
    assert _enter(neighbour, code).location.endswith("/client/")


def test_the_link_leaves_the_address_bar_at_once_and_a_tap_opens_the_questionnaires(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    assessment = start_or_resume(
        db.session, world.client, world.timepoints[0], mode="own_device", staff=world.counsellor
    )
    secret = client.application.config["SECRET_KEY"]
    issued = issue_code(db.session, assessment, secret=secret, staff=world.counsellor)
    opened = client.get(f"/client/c/{issued.link_token}")
    assert opened.status_code == 302 and opened.location.endswith("/client/start")
    assert issued.link_token not in opened.location
    page = client.get("/client/start").get_data(as_text=True)
    assert "Tap the button to begin" in page and issued.link_token not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    started = client.post("/client/start", data={"csrf_token": token.group(1), "from_link": "1"})
    assert started.location.endswith("/client/")
    with client.session_transaction() as session:
        session.clear()
    client.get(f"/client/c/{issued.link_token}")
    again = client.post("/client/start", data={"csrf_token": page_csrf(client), "from_link": "1"})
    assert again.status_code == 410


def test_a_phone_left_idle_closes_for_privacy_and_a_new_code_carries_on(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    code = _issue(client, db, world)
    _enter(client, code)
    row = db.session.scalar(select(ClientModeSession))
    assert row is not None
    row.last_seen_at = utcnow() - timedelta(minutes=11)
    db.session.flush()
    response = client.get("/client/")
    assert response.location.endswith("/client/closed?why=expired")
    assert "For your privacy" in client.get(response.location).get_data(as_text=True)
    db.session.refresh(row)
    assert row.end_reason == "expired"


def test_a_phone_page_that_closes_itself_when_nobody_uses_it_ends_as_left_idle(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    code = _issue(client, db, world)
    _enter(client, code)
    token = page_csrf(client, "/client/")
    response = client.post("/client/close", data={"csrf_token": token, "why": "idle"})
    assert response.location.endswith("/client/closed?why=expired")
    row = db.session.scalar(select(ClientModeSession))
    assert row is not None and row.end_reason == "expired"


def test_stopping_for_now_on_a_phone_ends_client_mode_without_a_password(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    code = _issue(client, db, world)
    _enter(client, code)
    response = client.post("/client/close", data={"csrf_token": page_csrf(client, "/client/")})
    assert response.location.endswith("/client/closed?why=stopped")
    assert response.headers["Clear-Site-Data"] == '"cache"'  # answers sealed on the phone wait for a new code
    with client.session_transaction() as session:
        assert CLIENT_MODE_KEY not in session
    closed = client.get(response.location)
    assert closed.headers["Clear-Site-Data"] == '"cache"'
    assert "js/client/forget_readable.js" in closed.get_data(as_text=True)  # which removes what is readable


def test_a_phone_is_told_its_answers_wait_on_the_phone_not_on_a_tablet(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    _enter(client, _issue(client, db, world))
    page = client.get("/client/q/0/1").get_data(as_text=True)
    assert "Saved on this phone, not yet sent." in page and "kept on this phone until" in page
    assert "this tablet" not in page
    config = json.loads(page.split('id="client-config">', 1)[1].split("</script>", 1)[0])
    worker = client.get(config["urls"]["sw"]).get_data(as_text=True)
    shell = json.loads(worker.split("self.CLIENT_SHELL = ", 1)[1].split(";\n", 1)[0])
    offline = client.get(shell["offline"]).get_data(as_text=True)  # the page the worker keeps for it
    assert "Your answers are kept on this phone" in offline and "this tablet" not in offline
    assert "kept on this tablet" in client.get("/client/offline").get_data(as_text=True)  # a tablet's own


def test_language_and_display_choices_work_on_the_code_page_and_carry_into_the_questionnaires(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    code = _issue(client, db, world)
    form = {"csrf_token": page_csrf(client), "next": "/client/start"}
    chosen = client.post("/client/language", data={**form, "language": "fr"})
    assert chosen.status_code == 302 and chosen.location.endswith("/client/start")
    larger = client.post("/client/display", data={**form, "large": "on"})
    assert larger.location.endswith("/client/start")
    page = client.get("/client/start").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Le code de votre intervenant" in page
    assert 'data-pref-css="large"' in page
    assert _enter(client, code).location.endswith("/client/")
    welcome = client.get("/client/").get_data(as_text=True)
    assert '<html lang="fr">' in welcome and 'data-pref-css="large"' in welcome
    assessment = db.session.scalar(select(ClientModeSession)).assessment
    db.session.refresh(assessment)
    assert assessment.language == "fr"


def test_the_thank_you_page_after_sending_on_a_phone_keeps_the_clients_language_and_display(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    code = _issue(client, db, world)
    _enter(client, code)
    form = {"csrf_token": page_csrf(client, "/client/"), "next": "/client/"}
    client.post("/client/language", data={**form, "language": "nl"})
    client.post("/client/display", data={**form, "contrast": "on"})
    client.post(
        "/client/q/1/1", data={**form, "nav": "next", "shown": "mood", "mood": "2"}
    )  # the one required
    review = client.get("/client/review").get_data(as_text=True)
    key = review.split('name="idempotency_key" value="')[1].split('"')[0]
    sent = client.post("/client/submit", data={**form, "idempotency_key": key})
    assert sent.status_code == 302 and sent.location.endswith("/client/done")
    with client.session_transaction() as session:
        assert CLIENT_MODE_KEY not in session  # the phone has left client mode
    done = client.get("/client/done").get_data(as_text=True)
    assert '<html lang="nl">' in done and "Dank u" in done and 'data-pref-css="contrast"' in done
