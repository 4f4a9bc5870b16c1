"""Two tabs (or a retry racing the first try) submit the same session at once: one submission, one replay."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import ClientModeSession, Submission
from survey_app.web.client.guard import CLIENT_MODE_KEY
from tests.client.fixtures import page_csrf
from tests.client.support import hand_over_committed
from tests.conftest import dispose_engines, make_app, staff_password_hash

KEY = "race-" + "r" * 30


@pytest.fixture
def committed_app(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on its own database whose rows are really committed (requests run concurrently)."""
    app = make_app(fresh_database_url, tmp_path / "instance")
    with app.app_context():
        db.create_all()
    yield app
    dispose_engines(app)


def test_the_same_key_submitted_twice_at_once_gives_one_submission(committed_app: Flask) -> None:
    with committed_app.app_context():
        token, public_id = hand_over_committed(db.session, tag="RACE", password_hash=staff_password_hash())
    browsers = [committed_app.test_client() for _ in range(2)]
    tokens = []
    for browser in browsers:
        with browser.session_transaction() as session:
            session[CLIENT_MODE_KEY] = token
        tokens.append(page_csrf(browser, "/client/"))
    body = json.dumps({"idempotency_key": KEY, "answers": [
        {"questionnaire": "tablet_form", "version": 1, "item": "mood", "value": 2}]})  # fmt: skip
    start = threading.Barrier(2)
    results: list[tuple[int, bool]] = []

    def submit(index: int) -> None:
        start.wait()
        response = browsers[index].post(
            f"/api/v1/sessions/{public_id}/submit",
            data=body,
            headers={"Content-Type": "application/json", "X-CSRFToken": tokens[index]},
        )
        results.append((response.status_code, response.headers.get("Idempotent-Replayed") == "true"))

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [(200, False), (200, True)]
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
        assert db.session.scalar(select(func.count()).select_from(ClientModeSession)) == 1
