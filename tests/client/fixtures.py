"""Fixtures for the client and API tests: a client with a counsellor, and a browser handed over to them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AssessmentSession, StaffUser
from survey_app.services import accounts
from survey_app.web.auth.session import SESSION_VERSION_KEY
from survey_app.web.client.guard import CLIENT_MODE_KEY
from tests.client.support import TabletWorld, build_world, store_bank, store_every_type_form
from tests.conftest import staff_password_hash, unique


def page_csrf(client: FlaskClient, path: str = "/client/start") -> str:
    """A CSRF token of the client's current browser session, read from a page's form."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, db: SQLAlchemy, user: StaffUser) -> str:
    """Sign ``client`` in as ``user`` (dropping what the browser held); returns the sign-in session token."""
    token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="pytest")
    db.session.flush()
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = token
        session["_fresh"] = True
        session[SESSION_VERSION_KEY] = user.session_version
    return token


@pytest.fixture
def world(db: SQLAlchemy) -> TabletWorld:
    """WHO-5 and the every-item-type form at two timepoints, a counsellor and their client."""
    versions = [store_bank(db.session, "who5"), store_every_type_form(db.session)]
    return build_world(db.session, versions, tag=unique("W"), password_hash=staff_password_hash())


@pytest.fixture
def hand_over(client: FlaskClient, db: SQLAlchemy, world: TabletWorld) -> Callable[..., AssessmentSession]:
    """Return a function: the counsellor hands ``client`` (the browser) over; gives the assessment session."""

    def go(**form: Any) -> AssessmentSession:
        sign_in(client, db, world.counsellor)
        data = {
            "csrf_token": page_csrf(client),
            "return_to": f"/counsellor/clients/{world.client.code}",
            **form,
        }
        response = client.post(f"/client-mode/start/{world.client.code}", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert response.location.endswith("/client/")
        with client.session_transaction() as session:
            assert CLIENT_MODE_KEY in session and "_user_id" not in session
        assessment = db.session.scalar(
            select(AssessmentSession)
            .where(AssessmentSession.client_id == world.client.id)
            .order_by(AssessmentSession.id.desc())
        )
        assert assessment is not None
        return assessment

    return go
