"""Security headers, cookies and generic error pages (HTML and JSON), including a lost database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app import create_app
from tests.conftest import make_app

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/survey"


def test_every_page_carries_the_security_headers(client: FlaskClient) -> None:
    for path in ("/auth/sign-in", "/no-such-page", "/healthz"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'self'",
        ):
            assert directive in csp, (path, directive)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers  # only in production (HTTPS)


def test_pages_use_no_inline_scripts_or_styles(client: FlaskClient) -> None:
    page = client.get("/auth/sign-in").get_data(as_text=True)
    assert "<script" not in page and "<style" not in page and " style=" not in page
    css = client.get("/static/css/app.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")
    css.close()


def test_production_adds_hsts_and_a_secure_host_cookie(tmp_path: Path, app: Flask) -> None:
    prod_app = create_app(
        "production",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SURVEY_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="p" * 64,
    )
    client = prod_app.test_client()
    response = client.get("/auth/sign-in", base_url="https://survey.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]  # the CSRF token lives in the session
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie


@pytest.mark.parametrize(("path", "status"), [("/no-such-page", 404), ("/auth/sign-out", 405)])
def test_errors_are_generic_html_pages(client: FlaskClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f"Error {status}" in page and "Traceback" not in page


def test_errors_under_api_and_healthz_are_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json == {
        "error": "Not found",
        "message": "There is no page at this address.",
        "status": 404,
    }
    assert client.post("/healthz").json["status"] == 405  # type: ignore[index]


def test_an_unexpected_error_is_a_generic_500_without_traceback(tmp_path: Path, app: Flask) -> None:
    broken = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", PROPAGATE_EXCEPTIONS=False
    )

    @broken.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "secret internals" not in page and "Traceback" not in page


def test_a_lost_database_gives_a_503_page_with_retry_after(tmp_path: Path) -> None:
    app = make_app(UNREACHABLE, tmp_path / "instance")
    client = app.test_client()
    page = client.get("/auth/sign-in").get_data(as_text=True)  # the form itself needs no database
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    response = client.post(
        "/auth/sign-in",
        data={"email": "a@example.org", "password": "whatever123", "csrf_token": token.group(1)},
    )
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_data(as_text=True)
    assert "Temporarily unavailable" in body and "Traceback" not in body and "psycopg" not in body
