"""Staff sign-in and sign-out through the browser-facing pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from survey_app.models import AuditEvent, StaffSession, StaffUser, utcnow
from tests.conftest import STAFF_PASSWORD

Builder = Callable[..., Any]
WRONG = "The email or password is wrong."


def _sign_in(
    client: FlaskClient,
    csrf_token: Callable[..., str],
    email: str,
    password: str,
    next_url: str | None = None,
) -> TestResponse:
    token = csrf_token()
    path = "/auth/sign-in" + (f"?next={next_url}" if next_url else "")
    return client.post(path, data={"email": email, "password": password, "csrf_token": token})


def _actions(db: SQLAlchemy) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_signed_out_visitors_are_sent_to_the_sign_in_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign-in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Staff sign-in" in page and 'name="csrf_token"' in page


def test_signing_in_shows_who_is_signed_in(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    csrf_token: Callable[..., str],
    enrol_totp: Builder,
    sign_in_with_totp: Builder,
) -> None:
    user = make_staff("site_lead", display_name="Sam Lead")
    enrol_totp(user)
    password_step = _sign_in(client, csrf_token, user.email.upper(), STAFF_PASSWORD)
    assert password_step.status_code == 302 and password_step.headers["Location"] == "/auth/verify"
    assert client.get("/").status_code == 302  # the password alone does not sign in
    response = sign_in_with_totp(user)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Signed in as <strong>Sam Lead</strong> (site lead)" in page
    assert "Sign out" in page
    assert {"auth.password_ok", "auth.sign_in"} <= set(_actions(db))
    rows = db.session.scalars(select(StaffSession).where(StaffSession.staff_user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].revoked_at is None


def test_a_wrong_password_gives_the_generic_message(
    client: FlaskClient, db: SQLAlchemy, make_staff: Builder, csrf_token: Callable[..., str]
) -> None:
    user = make_staff()
    response = _sign_in(client, csrf_token, user.email, "not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and WRONG in page
    assert "not the password" not in page
    unknown = _sign_in(client, csrf_token, "nobody@example.org", "whatever123").get_data(as_text=True)
    assert WRONG in unknown
    assert client.get("/").status_code == 302
    db.session.expire_all()
    assert db.session.get(StaffUser, user.id).failed_login_count == 1  # type: ignore[union-attr]


def test_sign_in_without_a_csrf_token_is_refused(client: FlaskClient, make_staff: Builder) -> None:
    user = make_staff()
    response = client.post("/auth/sign-in", data={"email": user.email, "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_after_ten_failures_even_the_right_password_is_refused(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    csrf_token: Callable[..., str],
    sign_in_with_totp: Builder,
) -> None:
    user = make_staff()
    for _ in range(10):
        assert WRONG in _sign_in(client, csrf_token, user.email, "wrong wrong").get_data(as_text=True)
    locked = _sign_in(client, csrf_token, user.email, STAFF_PASSWORD)
    assert WRONG in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # Fifteen minutes later (moved back in the database) the right password works again.
    db.session.execute(
        update(StaffUser).where(StaffUser.id == user.id).values(locked_until=utcnow() - timedelta(seconds=1))
    )
    db.session.flush()
    assert sign_in_with_totp(user).status_code == 302
    assert client.get("/").status_code == 200


def test_sign_out_really_ends_the_session(
    client: FlaskClient,
    db: SQLAlchemy,
    make_staff: Builder,
    csrf_token: Callable[..., str],
    sign_in_with_totp: Builder,
) -> None:
    user = make_staff()
    sign_in_with_totp(user)
    stolen = client.get_cookie("session")
    assert stolen is not None
    response = client.post("/auth/sign-out", data={"csrf_token": csrf_token("/")})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/sign-in"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/").status_code == 302
    # Replaying the cookie from before sign-out gets the sign-in page, not the app.
    client.set_cookie("session", stolen.value)
    replay = client.get("/", follow_redirects=True)
    assert replay.request.path == "/auth/sign-in"
    assert "Staff sign-in" in replay.get_data(as_text=True)
    row = db.session.scalar(select(StaffSession).where(StaffSession.staff_user_id == user.id))
    assert row is not None and row.revoked_at is not None
    assert "auth.sign_out" in _actions(db)


def test_sign_out_needs_post_and_a_csrf_token(client: FlaskClient, login_as: Builder) -> None:
    login_as("counsellor")
    assert client.get("/auth/sign-out").status_code == 405
    assert client.post("/auth/sign-out").status_code == 400
    assert client.get("/").status_code == 200


def test_an_idle_session_expires(client: FlaskClient, db: SQLAlchemy, login_as: Builder) -> None:
    user = login_as("researcher")
    assert client.get("/").status_code == 200
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.staff_user_id == user.id)
        .values(last_seen_at=utcnow() - timedelta(minutes=31))
    )
    db.session.flush()
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/sign-in")


def test_a_session_ends_twelve_hours_after_sign_in_however_active(
    client: FlaskClient, db: SQLAlchemy, login_as: Builder
) -> None:
    user = login_as("admin")
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.staff_user_id == user.id)
        .values(created_at=utcnow() - timedelta(hours=12, minutes=1), last_seen_at=utcnow())
    )
    db.session.flush()
    assert client.get("/").status_code == 302


def test_deactivating_a_user_signs_them_out(client: FlaskClient, db: SQLAlchemy, login_as: Builder) -> None:
    user = login_as("counsellor")
    assert client.get("/").status_code == 200
    db.session.execute(update(StaffUser).where(StaffUser.id == user.id).values(is_active=False))
    db.session.flush()
    assert client.get("/").status_code == 302


def test_sign_in_only_redirects_to_local_pages(
    client: FlaskClient, make_staff: Builder, csrf_token: Callable[..., str], sign_in_with_totp: Builder
) -> None:
    user = make_staff()
    response = sign_in_with_totp(user, next_url="https://evil.example/x")
    assert response.headers["Location"] == "/"
    client.post("/auth/sign-out", data={"csrf_token": csrf_token("/")})
    response = sign_in_with_totp(user, next_url="//evil.example/x")
    assert response.headers["Location"] == "/"
    client.post("/auth/sign-out", data={"csrf_token": csrf_token("/")})
    response = sign_in_with_totp(user, next_url="/auth/security")
    assert response.headers["Location"] == "/auth/security"


def test_signing_in_starts_a_new_session_and_forgets_the_old_one(
    client: FlaskClient, make_staff: Builder, sign_in_with_totp: Builder
) -> None:
    user = make_staff()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in_with_totp(user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] != ""


def test_the_session_cookie_is_http_only_and_same_site(
    client: FlaskClient, make_staff: Builder, sign_in_with_totp: Builder
) -> None:
    user = make_staff()
    response = sign_in_with_totp(user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
