"""CSRF on every state-changing route, the security headers (CSP nonces and the rest), no-store everywhere."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from survey_app import create_app
from survey_app.extensions import csrf
from tests.conftest import make_app
from tests.security.principals import Browser, staff_principal
from tests.security.world import build_world

Builder = Callable[..., Any]
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: Routes allowed to change state without the CSRF token, each with the reason (none today).
CSRF_EXEMPT: dict[str, str] = {}
PLACEHOLDERS = {
    "int": "1",
    "float": "1.0",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "path": "x",
    "default": "X-0001",
}


def _sample_url(rule: Any) -> str:
    url = rule.rule
    for name, converter in rule._converters.items():
        kind = next(
            (name for name, cls in converter.map.converters.items() if type(converter) is cls), "default"
        )
        value = PLACEHOLDERS.get(kind, PLACEHOLDERS["default"])
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
    return str(url)


def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(
    app: Flask, client: FlaskClient, login_as: Builder
) -> None:
    login_as("admin")
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in CSRF_EXEMPT:
            continue
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            response = client.open(_sample_url(rule), method=method, data={"anything": "1"})
            assert response.status_code == 400, (method, rule.rule, response.status_code)
            checked += 1
    assert checked >= 6
    assert not csrf._exempt_views - set(CSRF_EXEMPT) and not csrf._exempt_blueprints


def test_every_response_carries_the_security_headers(client: FlaskClient, login_as: Builder) -> None:
    login_as("counsellor")
    for path in ("/", "/auth/security", "/auth/sign-in", "/court/", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp, (path, directive)
        assert "unsafe-inline" not in csp
        assert headers["Cache-Control"] == "no-store", path
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_template_that_asks_for_a_nonce_gets_it_in_the_policy(tmp_path: Path, app: Flask) -> None:
    nonce_app = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance")

    @nonce_app.get("/with-script")
    def with_script() -> str:
        return render_template_string('<script nonce="{{ csp_nonce() }}">1</script>')

    response = nonce_app.test_client().get("/with-script")
    nonce = re.search(r'nonce="([^"]+)"', response.get_data(as_text=True))
    assert (
        nonce and f"script-src 'self' 'nonce-{nonce.group(1)}'" in response.headers["Content-Security-Policy"]
    )
    assert "nonce-" not in nonce_app.test_client().get("/auth/sign-in").headers["Content-Security-Policy"]


def test_production_upgrades_insecure_requests(tmp_path: Path, app: Flask) -> None:
    prod = create_app(
        "production",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SURVEY_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="p" * 64,
    )
    response = prod.test_client().get("/auth/sign-in", base_url="https://survey.example")
    assert "upgrade-insecure-requests" in response.headers["Content-Security-Policy"]


def test_pages_of_the_sign_in_steps_have_no_inline_script_or_style(
    client: FlaskClient, make_staff: Builder, csrf_token: Callable[..., str]
) -> None:
    user = make_staff()
    client.post(
        "/auth/sign-in",
        data={"email": user.email, "password": "correct horse battery staple", "csrf_token": csrf_token()},
    )
    page = client.get("/auth/enrol").get_data(as_text=True)
    assert "<script" not in page and "<style" not in page and " style=" not in page and "onclick" not in page


def test_downloads_of_reports_and_exports_are_never_stored_in_a_cache(
    questionnaire_dir: Path, app: Flask, db: SQLAlchemy, client: FlaskClient
) -> None:
    world = build_world(app, db)
    browser = Browser(app, db, client)
    counsellor = staff_principal(db, "couns_a", world.a.counsellor)
    researcher = staff_principal(db, "research", world.researcher)
    downloads = [
        (counsellor, f"/reports/batches/{world.batch_of(world.a.counsellor).public_id}/download"),  # type: ignore[union-attr]
        (researcher, f"/research/runs/{world.home.run.public_id}/download"),
    ]
    for principal, path in downloads:
        with browser.rolled_back():
            response = browser.send(principal, "GET", path)
        response.close()
        assert response.status_code == 200 and response.mimetype == "application/zip", path
        assert response.headers["Content-Disposition"].startswith("attachment;"), path
        assert response.headers["Cache-Control"] == "no-store", path
