"""Every admin route: the sign-in page for visitors, 403 for every role but admin, CSRF on every change."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from survey_app.models.people import ROLES

Builder = Callable[..., Any]


def _admin_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")),
        key=lambda r: r.rule,
    )


def _url(rule: Rule) -> str:
    samples = {"int": "1", "default": "tablet"}
    url = rule.rule
    for converter, name in re.findall(r"<(?:([^:<>]+):)?([^<>]+)>", url):
        value = "en" if name == "language" else samples.get(converter or "default", "1")
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
    return url


def _requests(app: Flask) -> list[tuple[str, str]]:
    return [
        (method, _url(rule))
        for rule in _admin_rules(app)
        for method in sorted((rule.methods or set()) & {"GET", "POST"})
    ]


def test_the_admin_blueprint_has_the_routes_it_documents(app: Flask) -> None:
    assert len(_admin_rules(app)) >= 25


def test_visitors_are_sent_to_sign_in_from_every_admin_route(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # the guard answers, not the CSRF check
    for method, url in _requests(app):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.location.startswith("/auth/sign-in"), (method, url)


@pytest.mark.parametrize("role", [role for role in ROLES if role != "admin"])
def test_every_other_role_gets_403_on_every_admin_route(
    app: Flask, client: FlaskClient, login_as: Builder, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    login_as(role)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    for method, url in _requests(app):
        assert client.open(url, method=method).status_code == 403, (role, method, url)


def test_a_deactivated_admin_is_signed_out(client: FlaskClient, login_as: Builder) -> None:
    login_as("admin", is_active=False)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.location.startswith("/auth/sign-in")


def test_an_admin_lands_on_administration(client: FlaskClient, login_as: Builder) -> None:
    login_as("admin")
    assert client.get("/").location == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_every_admin_change_needs_the_csrf_token(app: Flask, client: FlaskClient, login_as: Builder) -> None:
    login_as("admin")
    posts = [url for method, url in _requests(app) if method == "POST"]
    assert len(posts) >= 15
    for url in posts:
        assert client.post(url, data={"anything": "1"}).status_code == 400, url


def test_the_admin_pages_speak_the_staff_members_language(client: FlaskClient, login_as: Builder) -> None:
    login_as("admin")
    dutch = client.get("/admin/staff", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "Iemand uitnodigen" in dutch and "Zoeken op naam, e-mail of rol" in dutch
    french = client.get("/admin/questionnaires", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Vérifier un fichier de questionnaire" in french
