"""Two-step staff sign-in through the pages: password, then TOTP (or a first enrolment); sessions hardened."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from survey_app.models import AuditEvent, StaffMfa, StaffSession, StaffUser
from survey_app.services import mfa
from survey_app.web.auth.pending import PENDING_KEY
from tests.conftest import STAFF_PASSWORD

Builder = Callable[..., Any]


def _password(client: FlaskClient, csrf_token: Callable[..., str], user: StaffUser) -> TestResponse:
    return client.post(
        "/auth/sign-in", data={"email": user.email, "password": STAFF_PASSWORD, "csrf_token": csrf_token()}
    )


def _code(
    client: FlaskClient,
    csrf_token: Callable[..., str],
    code: str,
    path: str = "/auth/verify",
    page: str | None = None,
) -> TestResponse:
    return client.post(path, data={"code": code, "csrf_token": csrf_token(page or path)})


def _actions(db: SQLAlchemy, user: StaffUser) -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.object_id == str(user.id)).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def test_the_password_alone_opens_nothing(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    enrol_totp: Builder,
    csrf_token: Callable[..., str],
) -> None:
    user = make_staff()
    enrol_totp(user)
    assert _password(client, csrf_token, user).headers["Location"] == "/auth/verify"
    for path in ("/", "/auth/security"):
        assert client.get(path).status_code == 302
    assert db.session.scalar(select(StaffSession).where(StaffSession.staff_user_id == user.id)) is None


def test_first_sign_in_enrols_an_authenticator_with_a_local_qr_code(
    client: FlaskClient, db: SQLAlchemy, make_staff: Builder, csrf_token: Callable[..., str]
) -> None:
    user = make_staff()
    assert _password(client, csrf_token, user).headers["Location"] == "/auth/enrol"
    page = client.get("/auth/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page and "http://" not in page.split("<main", 1)[1]
    secret = "".join(re.findall(r"<code>([A-Z2-7]{4})</code>", page))
    assert len(secret) == 32
    assert (
        client.get("/auth/enrol").get_data(as_text=True).count(secret[:4]) >= 1
    )  # the same secret on reload
    wrong = _code(
        client, csrf_token, "000000" if mfa.current_code(secret) != "000000" else "111111", "/auth/enrol"
    )
    assert "does not match" in wrong.get_data(as_text=True)
    done = _code(client, csrf_token, mfa.current_code(secret), "/auth/enrol")
    codes = re.findall(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){5})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/").status_code == 200
    db.session.expire_all()
    assert db.session.get(StaffUser, user.id).totp_secret == secret  # type: ignore[union-attr]
    assert {"mfa.enrolled", "mfa.recovery_codes_replaced", "auth.sign_in"} <= set(_actions(db, user))


def test_a_code_is_refused_the_second_time(
    client: FlaskClient, make_staff: Builder, enrol_totp: Builder, csrf_token: Callable[..., str]
) -> None:
    user = make_staff()
    secret = enrol_totp(user)
    code = mfa.current_code(secret)
    _password(client, csrf_token, user)
    assert _code(client, csrf_token, code).headers["Location"] == "/"
    client.post("/auth/sign-out", data={"csrf_token": csrf_token("/")})
    _password(client, csrf_token, user)
    replay = _code(client, csrf_token, code)
    assert replay.status_code == 200 and "has been used already" in replay.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_ten_wrong_codes_lock_the_account_even_with_the_right_password(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    enrol_totp: Builder,
    csrf_token: Callable[..., str],
) -> None:
    user = make_staff()
    secret = enrol_totp(user)
    right = mfa.current_code(secret)
    wrong = "000000" if right != "000000" else "111111"
    _password(client, csrf_token, user)
    for _ in range(9):
        assert "is wrong" in _code(client, csrf_token, wrong).get_data(as_text=True)
    _password(client, csrf_token, user)  # a new password step does not reset the count
    locked = _code(client, csrf_token, wrong)
    assert locked.headers["Location"] == "/auth/sign-in"
    assert "locked" in client.get("/auth/sign-in").get_data(as_text=True)
    refused = _password(client, csrf_token, user)
    assert refused.status_code == 200 and "wrong" in refused.get_data(as_text=True)
    assert client.get("/auth/verify").headers["Location"] == "/auth/sign-in"
    assert "auth.locked_out" in _actions(db, user)


def test_a_recovery_code_signs_in_once(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    enrol_totp: Builder,
    csrf_token: Callable[..., str],
) -> None:
    user = make_staff()
    enrol_totp(user)
    codes = mfa.replace_recovery_codes(db.session, user)
    db.session.flush()
    _password(client, csrf_token, user)
    assert _code(client, csrf_token, codes[3]).headers["Location"] == "/"
    assert "9 left" in client.get("/").get_data(as_text=True)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token("/")})
    _password(client, csrf_token, user)
    assert _code(client, csrf_token, codes[3]).status_code == 200
    assert client.get("/").status_code == 302


def test_the_second_step_expires_after_ten_minutes(
    client: FlaskClient, make_staff: Builder, enrol_totp: Builder, csrf_token: Callable[..., str]
) -> None:
    user = make_staff()
    secret = enrol_totp(user)
    _password(client, csrf_token, user)
    token = csrf_token("/auth/verify")
    with client.session_transaction() as session:
        session[PENDING_KEY] = {**session[PENDING_KEY], "at": int(time.time()) - 601}
    late = client.post("/auth/verify", data={"code": mfa.current_code(secret), "csrf_token": token})
    assert late.headers["Location"] == "/auth/sign-in"
    assert client.get("/").status_code == 302


def test_a_password_change_cancels_a_pending_second_step(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    enrol_totp: Builder,
    csrf_token: Callable[..., str],
) -> None:
    user = make_staff()
    secret = enrol_totp(user)
    _password(client, csrf_token, user)
    token = csrf_token("/auth/verify")
    db.session.execute(
        update(StaffUser).where(StaffUser.id == user.id).values(session_version=user.session_version + 1)
    )
    db.session.flush()
    response = client.post("/auth/verify", data={"code": mfa.current_code(secret), "csrf_token": token})
    assert response.headers["Location"] == "/auth/sign-in"


def test_every_sign_in_gets_a_new_session_token(
    client: FlaskClient, make_staff: Builder, sign_in_with_totp: Builder, csrf_token: Callable[..., str]
) -> None:
    user = make_staff()
    tokens = []
    for _ in range(2):
        sign_in_with_totp(user)
        with client.session_transaction() as session:
            tokens.append(session["_user_id"])
        client.post("/auth/sign-out", data={"csrf_token": csrf_token("/")})
    assert tokens[0] != tokens[1]


def test_new_recovery_codes_need_a_fresh_code(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    sign_in_with_totp: Builder,
    csrf_token: Callable[..., str],
) -> None:
    user = make_staff()
    sign_in_with_totp(user)
    db.session.refresh(user)
    secret = user.totp_secret or ""
    page = client.get("/auth/security")
    assert page.status_code == 200 and "Unused recovery codes: 0." in page.get_data(as_text=True)
    refused = _code(client, csrf_token, "123456", "/auth/security/recovery-codes", "/auth/security")
    assert "wrong or has been used" in refused.get_data(as_text=True)
    db.session.execute(update(StaffMfa).where(StaffMfa.staff_user_id == user.id).values(last_totp_step=0))
    db.session.flush()
    made = _code(
        client, csrf_token, mfa.current_code(secret), "/auth/security/recovery-codes", "/auth/security"
    )
    assert len(re.findall(r"<code>[0-9A-Z-]{29}</code>", made.get_data(as_text=True))) == 10


def test_sign_out_everywhere_ends_every_device(
    app: Any, client: FlaskClient, db: SQLAlchemy, make_staff: Builder, sign_in_with_totp: Builder,
    csrf_token: Callable[..., str],
) -> None:  # fmt: skip
    user = make_staff()
    sign_in_with_totp(user)
    other_device = app.test_client()
    with client.session_transaction() as session:
        copied = dict(session)
    with other_device.session_transaction() as session:
        session.update(copied)
    assert other_device.get("/").status_code == 200
    response = client.post(
        "/auth/security/sign-out-everywhere", data={"csrf_token": csrf_token("/auth/security")}
    )
    assert response.headers["Location"] == "/auth/sign-in"
    assert other_device.get("/").status_code == 302
    open_sessions = db.session.scalars(
        select(StaffSession).where(StaffSession.staff_user_id == user.id, StaffSession.revoked_at.is_(None))
    ).all()
    assert open_sessions == []


def test_the_sign_in_pages_speak_dutch_and_french(client: FlaskClient) -> None:
    dutch = client.get("/auth/sign-in", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "Aanmelden voor medewerkers" in dutch and "Wachtwoord" in dutch
    french = client.get("/auth/sign-in", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Connexion du personnel" in french and "Mot de passe" in french


def test_a_recovery_code_typed_for_new_recovery_codes_is_refused_and_not_used_up(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    sign_in_with_totp: Builder,
    csrf_token: Callable[..., str],
) -> None:
    user = make_staff()
    sign_in_with_totp(user)
    codes = mfa.replace_recovery_codes(db.session, user)
    db.session.flush()
    refused = _code(client, csrf_token, codes[0], "/auth/security/recovery-codes", "/auth/security")
    page = refused.get_data(as_text=True)
    assert "wrong or has been used" in page and "Unused recovery codes: 10." in page
    assert "mfa.recovery_code_used" not in _actions(db, user)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token("/")})
    _password(client, csrf_token, user)
    assert _code(client, csrf_token, codes[0]).headers["Location"] == "/"  # it still signs in
