"""The client's own report compares only what can be compared and says when there is nothing to compare."""

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


def test_identical_scores_are_worded_as_unchanged_not_as_nothing_to_compare(workspace: World) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(client, workspace.t3m, LOW, when=at(92, intake))
    text = client_report_text(workspace, client.code)
    improved = between(text, "What has improved", "What you said matters to you")
    assert "nothing to compare yet" not in improved
    assert "Your scores are the same as when you started" in improved
    assert "the same as when you started: 24" in improved
    assert "How you have been feeling" in improved and "Your mood" in improved


def test_changes_only_across_a_version_break_are_not_nothing_to_compare(
    workspace: World, db: SQLAlchemy
) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, {"who5": LOW["who5"]}, when=at(1, intake))
    workspace.submit(
        client,
        workspace.t3m,
        {"who5": HIGH["who5"]},
        when=at(92, intake),
        versions={"who5": who5_v2(db, comparable=False)},
    )
    text = client_report_text(workspace, client.code)
    improved = between(text, "What has improved", "What you said matters to you")
    assert "nothing to compare yet" not in improved
    assert "The questions changed since you started, so these scores cannot be compared" in improved


def test_a_single_measurement_still_has_nothing_to_compare(workspace: World) -> None:
    intake = TODAY - dt.timedelta(days=10)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    text = client_report_text(workspace, client.code)
    assert "There is nothing to compare yet" in between(text, "What has improved", "What you said matters")
