"""The counsellor's password typed on the tablet: limited per device, never locking their account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select, update

from survey_app.models import AssessmentSession, AuditEvent, ClientModeSession, StaffUser
from survey_app.models.base import utcnow
from survey_app.services import accounts
from survey_app.services.tablet_password import FREE_TRIES
from tests.client.fixtures import page_csrf
from tests.client.support import TabletWorld
from tests.conftest import STAFF_PASSWORD

Handover = Callable[..., AssessmentSession]
WAIT = "Too many wrong passwords on this device"


def _mode(db: SQLAlchemy) -> ClientModeSession:
    row = db.session.scalar(select(ClientModeSession).order_by(ClientModeSession.id.desc()))
    assert row is not None
    db.session.refresh(row)
    return row


def _locked_tablet(client: FlaskClient) -> str:
    """Lock the screen; the lock page's CSRF token."""
    client.post("/client/lock", data={"csrf_token": page_csrf(client, "/client/")})
    return page_csrf(client, "/client/locked")


def _unlock(client: FlaskClient, token: str, password: str) -> tuple[int, str]:
    response = client.post("/client/unlock", data={"csrf_token": token, "password": password})
    return response.status_code, response.get_data(as_text=True)


def _after_the_wait(db: SQLAlchemy) -> None:
    """Move the device's wait into the past, as if it had run out."""
    row = _mode(db)
    db.session.execute(
        update(ClientModeSession)
        .where(ClientModeSession.id == row.id)
        .values(password_retry_at=utcnow() - timedelta(seconds=1))
    )
    db.session.flush()


def test_many_wrong_passwords_on_the_tablet_never_lock_the_counsellors_account(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Handover
) -> None:
    hand_over()
    token = _locked_tablet(client)
    for _ in range(3 * accounts.MAX_FAILED_SIGN_INS):
        _after_the_wait(db)
        status, _html = _unlock(client, token, "a wrong guess")
        assert status in (403, 429)
    counsellor = db.session.get(StaffUser, world.counsellor.id)
    assert counsellor is not None
    db.session.refresh(counsellor)
    assert not counsellor.is_locked(utcnow()) and counsellor.failed_login_count == 0
    assert accounts.authenticate(db.session, counsellor.email, STAFF_PASSWORD).ok  # the whole app still opens
    failures = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "client_mode.password_failed")
    ).all()
    assert len(failures) == 3 * accounts.MAX_FAILED_SIGN_INS  # every wrong try is audited, with the address
    assert all(event.ip == "127.0.0.1" and event.object_id == str(_mode(db).id) for event in failures)
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.locked_out")).all()


def test_after_a_few_wrong_passwords_the_device_waits_and_says_so_then_the_right_one_works(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    token = _locked_tablet(client)
    for _ in range(FREE_TRIES - 1):
        status, html = _unlock(client, token, "a wrong guess")
        assert status == 403 and "That password is not right" in html
    status, html = _unlock(client, token, "a wrong guess")
    assert status == 429 and WAIT in html and "wait 1 minute" in html
    status, html = _unlock(client, token, STAFF_PASSWORD)  # even the right one, while the device waits
    assert status == 429 and WAIT in html and _mode(db).locked_at is not None
    leave = client.post("/client/leave", data={"csrf_token": token, "password": STAFF_PASSWORD})
    assert leave.status_code == 429 and WAIT in leave.get_data(as_text=True)
    assert leave.headers["Retry-After"] and int(leave.headers["Retry-After"]) <= 60
    _after_the_wait(db)
    status, html = _unlock(client, token, "a wrong guess")  # each further wrong try waits longer
    assert status == 429 and "wait 2 minutes" in html
    _after_the_wait(db)
    response = client.post("/client/unlock", data={"csrf_token": token, "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response.location.endswith("/client/")
    row = _mode(db)
    assert row.locked_at is None and row.failed_password_count == 0 and row.password_retry_at is None


def test_the_wait_is_said_in_the_clients_language(
    client: FlaskClient, db: SQLAlchemy, hand_over: Handover
) -> None:
    hand_over()
    token = _locked_tablet(client)
    client.post("/client/language", data={"csrf_token": token, "language": "nl", "next": "/client/locked"})
    for _ in range(FREE_TRIES):
        status, html = _unlock(client, token, "a wrong guess")
    assert status == 429 and "Te veel foute wachtwoorden op dit toestel" in html


def test_a_staff_sign_in_still_locks_the_account_after_ten_wrong_passwords(
    db: SQLAlchemy, world: TabletWorld
) -> None:
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        assert accounts.authenticate(db.session, world.counsellor.email, "wrong wrong").outcome == (
            "wrong_credentials"
        )
    assert accounts.authenticate(db.session, world.counsellor.email, STAFF_PASSWORD).outcome == "locked"
