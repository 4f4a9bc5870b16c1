"""Client mode on the server: lock, unlock and leave with the counsellor's password, idle expiry, stopping."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, select
from werkzeug.test import TestResponse

from survey_app.models import AssessmentSession, AuditEvent, ClientModeSession, StaffSession
from survey_app.models.base import utcnow
from survey_app.services import accounts
from survey_app.services.client_access import MAX_CLIENT_MODE_AGE, device_key
from survey_app.web.auth.session import SESSION_VERSION_KEY
from survey_app.web.client.guard import CLIENT_MODE_KEY
from survey_app.web.client.mode import LEAVING_KEY
from tests.client.fixtures import page_csrf
from tests.client.support import TabletWorld
from tests.conftest import STAFF_PASSWORD

Handover = Callable[..., AssessmentSession]


def _mode(db: SQLAlchemy) -> ClientModeSession:
    row = db.session.scalar(select(ClientModeSession).order_by(ClientModeSession.id.desc()))
    assert row is not None
    db.session.refresh(row)
    return row


def _lock(client: FlaskClient) -> None:
    response = client.post("/client/lock", data={"csrf_token": page_csrf(client, "/client/")})
    assert response.location.endswith("/client/locked")


def test_locking_hides_everything_until_the_counsellor_unlocks(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    _lock(client)
    locked = client.get("/client/locked")
    html = locked.get_data(as_text=True)
    assert locked.status_code == 200 and locked.mimetype == "text/html" and "This screen is locked" in html
    assert locked.headers["Clear-Site-Data"] == '"cache"'  # answers sealed on the device stay
    assert "js/client/forget_readable.js" in html  # which removes anything readable of the client
    assert "Well-being" not in html and "TAB-" not in html
    for path in ("/client/", "/client/q/0/1", "/client/review"):
        assert client.get(path).location.endswith("/client/locked")
    with client.session_transaction() as session:
        old_token = session[CLIENT_MODE_KEY]
    token = page_csrf(client, "/client/locked")
    wrong = client.post("/client/unlock", data={"csrf_token": token, "password": "not it"})
    assert wrong.status_code == 403 and "That password is not right" in wrong.get_data(as_text=True)
    assert _mode(db).locked_at is not None
    right = client.post("/client/unlock", data={"csrf_token": token, "password": STAFF_PASSWORD})
    assert right.location.endswith("/client/")
    with client.session_transaction() as session:
        assert session[CLIENT_MODE_KEY] != old_token  # a new session id at the hand-over back to the client
    assert client.get("/client/").status_code == 200 and _mode(db).locked_at is None


def _leaving_page(client: FlaskClient, *, from_path: str = "/client/leave") -> str:
    """The counsellor's password on ``from_path``, which opens the leaving page; its HTML."""
    token = page_csrf(client, from_path)
    right = client.post("/client/leave", data={"csrf_token": token, "password": STAFF_PASSWORD})
    assert right.location.endswith("/client/leaving"), right.get_data(as_text=True)
    page = client.get("/client/leaving")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _end_client_mode(client: FlaskClient) -> TestResponse:
    """The leaving page's form, as its script sends it once the device has sent what it kept."""
    return client.post("/client/leaving", data={"csrf_token": page_csrf(client, "/client/")})


def test_leaving_needs_the_password_and_resumes_the_counsellors_own_session(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Handover
) -> None:
    hand_over(return_to="/counsellor/clients/ABC")
    parked_id = _mode(db).staff_session_id
    assert "For your counsellor" in client.get("/client/leave").get_data(as_text=True)
    token = page_csrf(client, "/client/leave")
    wrong = client.post("/client/leave", data={"csrf_token": token, "password": "guess"})
    assert wrong.status_code == 403 and client.get("/").location.endswith("/client/")
    assert "data-leaving-form" in _leaving_page(client)
    assert _mode(db).ended_at is None  # the page sends what the device keeps first
    right = _end_client_mode(client)
    assert right.location.endswith("/counsellor/clients/ABC")
    assert right.headers["Clear-Site-Data"] == '"cache", "storage"'
    row = _mode(db)
    assert row.ended_at is not None and row.end_reason == "left"
    parked = db.session.get(StaffSession, parked_id)
    assert parked is not None
    db.session.refresh(parked)
    assert parked.revoked_at is not None  # the old token is worthless; a new sign-in session was started
    with client.session_transaction() as session:
        assert (
            CLIENT_MODE_KEY not in session
            and session.get(SESSION_VERSION_KEY) == world.counsellor.session_version
        )
        assert session["_user_id"]
    assert client.get("/client/").location.endswith("/client/closed")


def test_leaving_after_the_counsellor_signed_out_everywhere_asks_for_a_new_sign_in(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    parked = db.session.get(StaffSession, _mode(db).staff_session_id)
    assert parked is not None
    parked.revoked_at = utcnow()
    db.session.flush()
    _leaving_page(client)
    response = _end_client_mode(client)
    assert "/auth/sign-in" in response.location
    with client.session_transaction() as session:
        assert "_user_id" not in session and CLIENT_MODE_KEY not in session


def _parked(db: SQLAlchemy) -> StaffSession:
    """The counsellor's sign-in session parked at the hand-over."""
    parked = db.session.get(StaffSession, _mode(db).staff_session_id)
    assert parked is not None
    db.session.refresh(parked)
    return parked


def _resumed(client: FlaskClient, db: SQLAlchemy) -> StaffSession:
    """The sign-in session the browser holds after leaving client mode."""
    with client.session_transaction() as session:
        token = session["_user_id"]
    resumed = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == accounts.token_hash(token))
    )
    assert resumed is not None
    return resumed


def test_leaving_resumes_the_same_sign_in_so_the_absolute_limit_counts_from_the_real_one(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Handover
) -> None:
    hand_over()
    parked = _parked(db)
    parked.created_at = utcnow() - timedelta(hours=11, minutes=50)  # password and TOTP almost 12 h ago
    db.session.flush()
    _leaving_page(client)
    assert _end_client_mode(client).location.endswith(f"/counsellor/clients/{world.client.code}")
    resumed = _resumed(client, db)
    assert resumed.id != parked.id and resumed.created_at == parked.created_at
    limits = {"idle_timeout": timedelta(minutes=30), "absolute_timeout": timedelta(hours=12)}
    with client.session_transaction() as session:
        token = session["_user_id"]
    later = parked.created_at + timedelta(hours=12, minutes=1)
    assert accounts.load_staff_session(db.session, token, now=later - timedelta(minutes=2), **limits)
    assert accounts.load_staff_session(db.session, token, now=later, **limits) is None  # sign in again


def test_leaving_after_the_absolute_limit_asks_for_a_new_sign_in(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    parked = _parked(db)
    parked.created_at = utcnow() - timedelta(hours=12, minutes=1)
    db.session.flush()
    _leaving_page(client)
    assert "/auth/sign-in" in _end_client_mode(client).location
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_leaving_after_the_counsellor_was_away_past_the_idle_limit_asks_for_a_new_sign_in(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    parked = _parked(db)
    assert utcnow() - parked.last_seen_at < timedelta(seconds=5)  # the hand-over was their activity
    parked.last_seen_at = utcnow() - timedelta(minutes=31)  # the client answered for half an hour
    db.session.flush()
    _leaving_page(client)
    response = _end_client_mode(client)
    assert "/auth/sign-in" in response.location and _mode(db).end_reason == "left"
    with client.session_transaction() as session:
        assert "_user_id" not in session and CLIENT_MODE_KEY not in session


def test_the_counsellors_unlock_counts_as_their_activity_but_never_revives_an_idle_session(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    parked = _parked(db)
    parked.last_seen_at = utcnow() - timedelta(minutes=25)
    db.session.flush()
    _lock(client)
    token = page_csrf(client, "/client/locked")
    assert (
        client.post("/client/unlock", data={"csrf_token": token, "password": STAFF_PASSWORD}).status_code
        == 302
    )
    assert utcnow() - _parked(db).last_seen_at < timedelta(minutes=1)  # their password: they were here
    parked = _parked(db)
    parked.last_seen_at = utcnow() - timedelta(minutes=40)
    db.session.flush()
    _lock(client)
    token = page_csrf(client, "/client/locked")
    assert (
        client.post("/client/unlock", data={"csrf_token": token, "password": STAFF_PASSWORD}).status_code
        == 302
    )
    assert utcnow() - _parked(db).last_seen_at > timedelta(minutes=39)  # too late: it stays ended
    _leaving_page(client)
    assert "/auth/sign-in" in _end_client_mode(client).location


def test_ending_client_mode_and_unlocking_are_audited_with_the_address(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    _lock(client)
    token = page_csrf(client, "/client/locked")
    client.post("/client/unlock", data={"csrf_token": token, "password": STAFF_PASSWORD})
    _leaving_page(client)
    _end_client_mode(client)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["client_mode.unlock", "client_mode.end"]))
    ).all()
    assert {event.action for event in events} == {"client_mode.unlock", "client_mode.end"}
    assert {event.ip for event in events} == {"127.0.0.1"}


def test_ending_from_the_lock_screen_opens_it_so_the_sealed_answers_can_be_sent_first(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    assessment = hand_over()
    _lock(client)
    with client.session_transaction() as session:
        locked_token = session[CLIENT_MODE_KEY]
    html = _leaving_page(client, from_path="/client/locked")
    row = _mode(db)
    assert row.locked_at is None and row.ended_at is None
    with client.session_transaction() as session:
        assert session[CLIENT_MODE_KEY] != locked_token  # a new session id, as at an unlock
    config = json.loads(re.search(r'id="client-config">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert (
        config["session"] == assessment.public_id and config["device_key"]
    )  # it can open the sealed answers
    assert config["urls"]["answers"] == f"/api/v1/sessions/{assessment.public_id}/answers"
    response = _end_client_mode(client)
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert _mode(db).end_reason == "left"


def test_the_leaving_page_needs_the_password_and_keeps_it_one_minute(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    assert client.get("/client/leaving").location.endswith("/client/leave")
    token = page_csrf(client, "/client/")
    assert client.post("/client/leaving", data={"csrf_token": token}).location.endswith("/client/leave")
    _leaving_page(client)
    with client.session_transaction() as session:
        assert session[LEAVING_KEY]["until"] - utcnow().timestamp() <= 60
        session[LEAVING_KEY] = {
            **session[LEAVING_KEY],
            "until": (utcnow() - timedelta(seconds=1)).timestamp(),
        }
    assert _end_client_mode(client).location.endswith("/client/leave")
    assert _mode(db).ended_at is None  # still the client's: the password is asked again
    assert "Please enter your password again to end client mode." in client.get("/client/leave").get_data(
        as_text=True
    )


def test_an_idle_tablet_locks_on_the_server(client: FlaskClient, db: SQLAlchemy, hand_over: Handover) -> None:
    hand_over()
    row = _mode(db)
    row.last_seen_at = utcnow() - timedelta(minutes=11)
    db.session.flush()
    assert client.get("/client/q/0/1").location.endswith("/client/locked")
    assert _mode(db).locked_at is not None


def test_the_idle_timeout_is_configurable(
    app: Flask, client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    row = _mode(db)
    row.last_seen_at = utcnow() - timedelta(minutes=3)
    db.session.flush()
    app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 2
    try:
        assert client.get("/client/").location.endswith("/client/locked")
    finally:
        app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 10


def test_client_mode_ends_after_its_maximum_age(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    row = _mode(db)
    row.created_at = utcnow() - MAX_CLIENT_MODE_AGE - timedelta(minutes=1)
    db.session.flush()
    response = client.get("/client/")
    assert "/client/closed" in response.location
    assert _mode(db).end_reason == "expired"
    with client.session_transaction() as session:
        assert CLIENT_MODE_KEY not in session


def test_keepalive_notes_use_and_an_unknown_token_is_forgotten(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    row = _mode(db)
    row.last_seen_at = utcnow() - timedelta(minutes=5)
    db.session.flush()
    assert (
        client.post("/client/keepalive", data={"csrf_token": page_csrf(client, "/client/")}).status_code
        == 204
    )
    assert utcnow() - _mode(db).last_seen_at < timedelta(minutes=1)
    with client.session_transaction() as session:
        session[CLIENT_MODE_KEY] = "forged"
    assert client.get("/client/").location.endswith("/client/closed")
    with client.session_transaction() as session:
        assert CLIENT_MODE_KEY not in session


def test_only_an_unlocked_page_carries_the_key_that_seals_answers_on_the_device(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    page = client.get("/client/").get_data(as_text=True)
    config = json.loads(page.split('id="client-config">')[1].split("</script>")[0])
    public_id = config["session"]
    key = base64.urlsafe_b64decode(config["device_key"] + "=")
    assert len(key) == 32  # AES-256
    assert config["device_key"] == device_key(client.application.config["SECRET_KEY"], public_id)
    assert device_key("another secret", public_id) != config["device_key"]
    assert device_key(client.application.config["SECRET_KEY"], public_id + "x") != config["device_key"]
    _lock(client)
    locked = client.get("/client/locked").get_data(as_text=True)
    assert config["device_key"] not in locked and "client-config" not in locked


def test_the_right_password_and_the_unlock_it_opens_are_one_commit(
    app: Flask, client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    """The password's audit event, the count it clears and the new session id are written together: a
    failure half-way keeps none of them."""
    hand_over()
    _lock(client)
    token = page_csrf(client, "/client/locked")
    writes: list[str] = []
    commits: list[list[str]] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)
        elif verb == "RELEASE" and writes:  # a view's commit, in the tests, of what it wrote
            commits.append(writes[:])
            writes.clear()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        right = client.post("/client/unlock", data={"csrf_token": token, "password": STAFF_PASSWORD})
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert right.location.endswith("/client/") and _mode(db).locked_at is None
    assert len(commits) == 1


def test_a_tablet_page_that_locks_itself_for_nobody_using_it_is_recorded_as_left_idle(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    token = page_csrf(client, "/client/")
    response = client.post("/client/lock", data={"csrf_token": token, "why": "idle"})
    assert response.location.endswith("/client/locked")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client_mode.lock"))
    assert event is not None and (event.actor_type, event.details) == ("system", {"reason": "idle"})


def test_a_tablet_locked_at_the_client_s_press_is_recorded_as_the_client_s(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    _lock(client)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client_mode.lock"))
    assert event is not None and (event.actor_type, event.details) == ("client", {"reason": "client"})
