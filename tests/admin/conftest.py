"""Fixtures of the admin tests: an organisation with a site and its signed-in admin, and posting forms with
their CSRF token (``questionnaire_dir``, the test's own questionnaire folder, is in tests/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from werkzeug.test import TestResponse

from survey_app.models import Organisation, Site, StaffUser
from tests.client.fixtures import sign_in

Builder = Callable[..., Any]


@dataclass
class AdminWorld:
    """An organisation with two sites, and its admin (signed in on ``client``)."""

    organisation: Organisation
    site: Site
    other_site: Site
    admin: StaffUser


@pytest.fixture
def world(db: SQLAlchemy, login_as: Builder, make_organisation: Builder, make_site: Builder) -> AdminWorld:
    """The admin of an organisation with two sites, signed in."""
    organisation = make_organisation()
    site = make_site(organisation, name="Gent Noord")
    other = make_site(organisation, name="Gent Zuid")
    admin = login_as("admin", organisation=organisation)
    return AdminWorld(organisation, site, other, admin)


@pytest.fixture
def post(client: FlaskClient) -> Callable[..., TestResponse]:
    """Post a form from a page of ``client``'s session, with the CSRF token that page carries."""

    def send(
        path: str, data: dict[str, Any] | None = None, *, page: str | None = None, **options: Any
    ) -> TestResponse:
        html = client.get(page or "/admin/staff/invite").get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert match, f"no CSRF token on {page}"
        return client.post(path, data={**(data or {}), "csrf_token": match.group(1)}, **options)

    return send


@pytest.fixture
def text_of() -> Callable[[TestResponse], str]:
    """A response's HTML as text, with tags removed and spaces collapsed (what a person reads)."""

    def read(response: TestResponse) -> str:
        html = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
        return " ".join(html.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&").split())

    return read


@pytest.fixture
def other_browser(app: Flask, db: SQLAlchemy) -> Callable[[StaffUser], FlaskClient]:
    """A second browser, signed in as the given staff member (as after a complete sign-in)."""

    def open_as(user: StaffUser) -> FlaskClient:
        browser = app.test_client()
        sign_in(browser, db, user)
        return browser

    return open_as
