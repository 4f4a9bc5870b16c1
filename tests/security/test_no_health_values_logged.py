"""After a realistic flow, no health value or identifier is in the application logs or the audit trail."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AuditEvent
from survey_app.observability import JsonFormatter
from tests.security.conftest import (
    FAMILY_NAME,
    FREE_TEXT,
    NATIONAL_NUMBER,
    SCORE_VALUE,
    SHOWN_SCORE,
    CaseFile,
)

Builder = Callable[..., Any]
SENTINELS = (
    FREE_TEXT,
    FAMILY_NAME,
    NATIONAL_NUMBER,
    str(SCORE_VALUE),
    str(SCORE_VALUE + 1),
    "Question q1",
    "option 2",
)


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged anywhere (at DEBUG) while the test runs."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())  # every extra field too, as production writes them
    loggers = [logging.getLogger(), logging.getLogger("survey_app"), logging.getLogger("flask_limiter")]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield buffer
    for logger, level in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_a_day_of_work_leaves_no_health_values_in_logs_or_audit(
    app: Flask,
    client: FlaskClient,
    db: SQLAlchemy,
    case_file: CaseFile,
    sign_in_with_totp: Builder,
    signed_in: Builder,
    make_staff: Builder,
    csrf_token: Callable[..., str],
    captured_logs: io.StringIO,
    tmp_path: Path,
) -> None:
    code = case_file.client.code
    sign_in_with_totp(case_file.counsellor)
    client.get(f"/consent/clients/{code}")
    client.post(
        f"/consent/clients/{code}",
        data={
            "care": "yes",
            "court": "yes",
            "court_scores": "y",
            "court_summary": "y",
            "research": "yes",
            "client_agreed": "y",
            "csrf_token": csrf_token(f"/consent/clients/{code}"),
        },
    )
    token = csrf_token(f"/consent/clients/{code}")
    client.post("/auth/sign-in", data={"email": "x@example.org", "password": FREE_TEXT, "csrf_token": token})
    liaison = signed_in(app.test_client(), make_staff("court_liaison", organisation=case_file.organisation))
    assert SHOWN_SCORE in liaison.get(f"/court/clients/{code}").get_data(as_text=True)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["gdpr", "export", code, "--out", str(tmp_path / "r.json")]).exit_code == 0
    erased = runner.invoke(args=["gdpr", "erase", code, "--yes"])
    assert erased.exit_code == 0
    logged = captured_logs.getvalue() + erased.output
    assert "Erased" in logged and '"route": "/court/clients/<code>"' in logged  # the capture works
    details = db.session.scalars(select(AuditEvent.details)).all()
    audit_text = json.dumps(details, ensure_ascii=False)
    for sentinel in SENTINELS:
        assert sentinel not in logged, sentinel
        assert sentinel not in audit_text, sentinel
    for leaf in _leaves(details):
        assert leaf is None or isinstance(leaf, bool | int) or (isinstance(leaf, str) and len(leaf) <= 80), (
            leaf
        )
    assert {"auth.sign_in", "client.view", "consent.change", "court.share", "gdpr.access_export"} <= set(
        db.session.scalars(select(AuditEvent.action))
    )
