"""The people who use the app in the security tests, and a browser that sends requests as each of them.

``Principal`` is one way of using the app (anonymous, the client's tablet in client mode, a staff member,
a sign-in halfway through); ``Browser`` sends each request as a principal, with a fresh cookie session and
a valid CSRF token, inside a savepoint that is rolled back afterwards, so every request meets the same
world (``tests/security/world.py``).
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from survey_app.models import StaffSession, StaffUser
from survey_app.models.base import utcnow
from survey_app.services import accounts
from survey_app.services.client_access import lock_client_mode, open_client_mode
from survey_app.web.auth.pending import PENDING_KEY
from survey_app.web.auth.session import SESSION_VERSION_KEY
from survey_app.web.client.guard import CLIENT_MODE_KEY
from survey_app.web.client.mode import LEAVING_FOR, LEAVING_KEY
from tests.security.world import Side, World


@dataclass
class Principal:
    """One way of using the app: the cookie-session keys it holds, the staff member (if any), its side."""

    name: str
    user: StaffUser | None = None
    session_data: dict[str, Any] = field(default_factory=dict)
    home: str = "a"
    in_client_mode: bool = False


def staff_principal(db: SQLAlchemy, name: str, user: StaffUser, home: str = "a") -> Principal:
    """A staff member with a live server-side sign-in session (as after password and TOTP)."""
    token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="pytest")
    db.session.flush()
    data = {"_user_id": token, "_fresh": True, SESSION_VERSION_KEY: user.session_version}
    return Principal(name, user, data, home)


def client_mode_principal(
    db: SQLAlchemy,
    world: World,
    name: str = "client",
    *,
    side: Side | None = None,
    locked: bool = False,
    via: Literal["tablet", "code"] = "tablet",
    leaving: bool = False,
) -> Principal:
    """A tablet handed over to a client (A unless told) by their counsellor, whose session is parked; or
    (``via="code"``) the client's phone after entering a one-time code. ``leaving``: the counsellor has
    just given their password to end client mode (the leaving page is open)."""
    side = side or world.a
    counsellor = side.counsellor
    token = accounts.start_staff_session(db.session, counsellor, ip="127.0.0.1", user_agent="pytest")
    db.session.flush()
    parked = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == accounts.token_hash(token))
    )
    client_token, row = open_client_mode(
        db.session,
        side.open_session,
        via=via,
        staff=counsellor,
        staff_session=parked,
        return_path=f"/counsellor/clients/{side.client.code}",
    )
    if locked:
        lock_client_mode(db.session, row, reason="client")
    db.session.flush()
    home = "a" if side is world.a else "b"
    data: dict[str, Any] = {CLIENT_MODE_KEY: client_token, "language": "en"}
    if leaving:
        data[LEAVING_KEY] = {"staff": counsellor.id, "until": (utcnow() + LEAVING_FOR).timestamp()}
    return Principal(name, None, data, home, in_client_mode=True)


def pending_sign_in_principal(name: str, user: StaffUser) -> Principal:
    """A browser between the password and the second step (or the first enrolment) of ``user``."""
    state = {"uid": user.id, "sv": user.session_version, "at": int(time.time()), "next": ""}
    return Principal(name, user, {PENDING_KEY: state})


class Browser:
    """Sends requests as a principal, each with a fresh cookie session and CSRF token, each rolled back."""

    def __init__(self, app: Flask, db: SQLAlchemy, client: FlaskClient) -> None:
        self.app, self.db, self.client = app, db, client
        self.connection = db.session.connection()
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        self._signer = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")

    def _prepare(self, principal: Principal) -> str:
        raw = hashlib.sha1(os.urandom(32)).hexdigest()
        with self.client.session_transaction() as session:
            session.clear()
            session.update(principal.session_data)
            session["csrf_token"] = raw
        return str(self._signer.dumps(raw))

    @contextmanager
    def rolled_back(self) -> Iterator[None]:
        """Whatever the requests inside change in the database is undone afterwards."""
        savepoint = self.connection.begin_nested()
        try:
            yield
        finally:
            savepoint.rollback()

    def send(
        self,
        principal: Principal,
        method: str,
        path: str,
        data: dict[str, Any] | bytes | None = None,
        json: Any = None,
        files: dict[str, tuple[str, bytes]] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        """One request as ``principal``; state-changing methods carry a valid CSRF token.

        ``files`` (field -> file name and bytes) are sent with ``data`` as a multipart form, encoded here in
        memory (the test client would spool a large body to a temporary file it never closes).
        """
        token = self._prepare(principal)
        headers = {"X-CSRFToken": token}
        if method != "GET" and json is None and not isinstance(data, bytes):
            data = {**(data or {}), "csrf_token": token}
        if files:
            uploads = {
                field: FileStorage(io.BytesIO(content), filename=name)
                for field, (name, content) in files.items()
            }
            boundary, data = encode_multipart({**(data or {}), **uploads})
            kwargs["content_type"] = f"multipart/form-data; boundary={boundary}"
        return self.client.open(path, method=method, data=data, json=json, headers=headers, **kwargs)
