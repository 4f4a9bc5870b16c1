"""The client's own report compares only what can be compared."""

from __future__ import annotations

import datetime as dt
import html
import re

from flask_sqlalchemy import SQLAlchemy

from tests.counsellor.conftest import TODAY, World
from tests.counsellor.test_client_page import HIGH, LOW, at, who5_v2


def client_report_text(world: World, code: str) -> str:
    """The client report preview as plain text, in English."""
    world.sign_in(world.counsellor)
    response = world.browser.get(f"/reports/clients/{code}/client?lang=en")
    assert response.status_code == 200
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def between(text: str, start: str, end: str) -> str:
    """The part of `text` from `start` up to `end`."""
    return text.split(start, 1)[1].split(end, 1)[0]


def test_across_a_version_break_only_the_latest_score_is_shown(workspace: World, db: SQLAlchemy) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(
        client, workspace.t3m, HIGH, when=at(92, intake), versions={"who5": who5_v2(db, comparable=False)}
    )
    text = client_report_text(workspace, client.code)
    feeling = between(text, "How you have been feeling", "Your mood")
    assert "When you started" not in feeling and ": 24." not in feeling
    assert "Most recently" in feeling and ": 80." in feeling
    assert "The questions changed since you started, so this score cannot be compared" in feeling
    # Mood was asked on the same version both times: both scores, side by side.
    mood = between(text, "Your mood", "What is shared with the court")
    assert "When you started" in mood and "Most recently" in mood
