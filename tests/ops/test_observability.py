"""Structured request logs without secrets or health values, request ids, versioned static files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from flask import Flask, url_for

from config import ConfigError
from survey_app.observability import JsonFormatter, configure_logging


def test_json_lines_carry_the_extra_fields() -> None:
    record = logging.LogRecord("survey_app.request", logging.INFO, __file__, 1, "request", (), None)
    record.status = 200
    record.route = "/healthz"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "request" and line["status"] == 200 and line["route"] == "/healthz"
    assert line["level"] == "info" and line["time"].endswith("+00:00")


def test_a_request_is_logged_once_by_route_without_its_query_string(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="survey_app.request"):
        response = app.test_client().get("/healthz?code=SECRET-CODE", headers={"X-Request-ID": "abc123"})
    entries = [record for record in caplog.records if record.name == "survey_app.request"]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.method, entry.route, entry.status, entry.request_id) == ("GET", "/healthz", 200, "abc123")
    assert "SECRET-CODE" not in caplog.text
    assert response.headers["X-Request-ID"] == "abc123"


def test_static_urls_are_versioned_by_content_and_cached_long(app: Flask) -> None:
    with app.test_request_context():
        url = url_for("static", filename="css/app.css")
    css = Path(app.static_folder or "") / "css" / "app.css"
    import hashlib

    assert url.endswith("?v=" + hashlib.sha256(css.read_bytes()).hexdigest()[:8])
    response = app.test_client().get(url)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    response.close()


def test_bad_log_settings_are_refused_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from survey_app import create_app

    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json, not 'xml'"):
        create_app(
            "testing", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3", SURVEY_INSTANCE_PATH=str(tmp_path)
        )


def test_configure_logging_writes_json_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        logging.getLogger("survey_app.test").warning("hello", extra={"count": 3})
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert (line["message"], line["count"], line["level"]) == ("hello", 3, "warning")
    finally:
        logging.getLogger("survey_app").handlers = []
        logging.getLogger("survey_app").propagate = True
