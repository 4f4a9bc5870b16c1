"""A completed session whose scale has no score is never called missed: it says why it was not scored."""

from __future__ import annotations

import datetime as dt
import html
import re

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from survey_app.models import Client, QuestionnaireVersion
from survey_app.questionnaires.loader import content_hash
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.reports.documents import render_report
from tests.builders import document, dump
from tests.counsellor.conftest import TODAY, World
from tests.counsellor.test_client_page import HIGH, LOW, at, page_of


def never_shown(db: SQLAlchemy) -> QuestionnaireVersion:
    """A questionnaire whose only section a skip rule always hides."""
    data = document(key="skipped")
    data["sections"][0]["show_if"] = "false"
    for example in data["examples"]:
        example["expect"]["scales"]["total"]["value"] = None
    source = dump(data)
    row = QuestionnaireVersion(
        key="skipped",
        version=1,
        content_hash=content_hash(source.encode("utf-8")),
        source_yaml=source,
        snapshot=read_yaml(source).data,
        title="Skipped",
    )
    db.session.add(row)
    db.session.flush()
    return row


def chart_description(page: str, questionnaire: str, scale: str) -> str:
    """The words of one chart on the counsellor's client page."""
    match = re.search(rf'<desc id="chart-{questionnaire}-{scale}-desc">(.*?)</desc>', page, re.S)
    assert match, (questionnaire, scale)
    return html.unescape(match.group(1))


def counsellor_report_text(app: Flask, db: SQLAlchemy, client_id: int) -> str:
    """The counsellor report as plain text, in English (made in an app context of its own)."""
    with app.test_request_context():
        client = db.session.get(Client, client_id)
        assert client is not None
        rendered = render_report(db.session, client, "counsellor", "en", for_pdf=False)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered.html)).split())


def test_a_completed_session_with_too_few_answers_is_not_called_missed(
    app: Flask, workspace: World, db: SQLAlchemy
) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, {"who5": {}, "phq9": {}}, when=at(1, intake))
    workspace.submit(client, workspace.t3m, HIGH, when=at(92, intake))
    workspace.sign_in(workspace.counsellor)
    intake_words = chart_description(page_of(workspace, client.code), "who5", "percentage").split(". ")[0]
    assert "Intake" in intake_words
    assert "missed" not in intake_words
    assert "completed, not scored: too many items missing" in intake_words
    assert "Not scored, too many items missing: Well-being (WHO-5)" in counsellor_report_text(
        app, db, client.id
    )


def test_items_hidden_by_skip_rules_are_not_called_missing(
    app: Flask, workspace: World, db: SQLAlchemy
) -> None:
    skipped = never_shown(db)
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    for timepoint, days in ((workspace.t0, 1), (workspace.t3m, 92)):
        workspace.submit(
            client, timepoint, {**LOW, "skipped": {}}, when=at(days, intake), versions={"skipped": skipped}
        )
    workspace.sign_in(workspace.counsellor)
    words = chart_description(page_of(workspace, client.code), "skipped", "total")
    assert "missed" not in words
    assert "completed, not asked because of earlier answers" in words
    report = counsellor_report_text(app, db, client.id)
    assert "too many items missing" not in report
    assert "Not asked because of earlier answers: Demo: Total" in report


def score_table(page: str, questionnaire: str, scale: str) -> str:
    """The words of one scale's score table on the counsellor's client page."""
    after_chart = page.split(f'id="chart-{questionnaire}-{scale}-desc"', 1)[1]
    table = after_chart.split('<table class="data scores">', 1)[1].split("</table>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", table)).split())


def test_the_score_table_says_a_skipped_scale_was_not_asked(workspace: World, db: SQLAlchemy) -> None:
    skipped = never_shown(db)
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(
        client, workspace.t0, {**LOW, "skipped": {}}, when=at(1, intake), versions={"skipped": skipped}
    )
    workspace.sign_in(workspace.counsellor)
    table = score_table(page_of(workspace, client.code), "skipped", "total")
    assert "too many items missing" not in table
    assert "completed, not asked because of earlier answers" in table


def test_the_score_table_says_too_many_items_were_missing(workspace: World, db: SQLAlchemy) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, {"who5": {}, "phq9": {}}, when=at(1, intake))
    workspace.sign_in(workspace.counsellor)
    table = score_table(page_of(workspace, client.code), "who5", "percentage")
    assert "not scored (too many items missing)" in table
