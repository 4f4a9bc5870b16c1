"""The court's pages: the summary of change follows the same comparability rule as the counsellor's
trends, and the list and the report speak the reader's language."""

from __future__ import annotations

import datetime as dt
import html
import re

from flask_sqlalchemy import SQLAlchemy

from survey_app.services.consent import record_consent
from tests.counsellor.conftest import TODAY, World, phq9, who5
from tests.counsellor.test_client_page import HIGH, LOW, at, who5_v2


def court_summary_of(world: World, db: SQLAlchemy, code: str) -> str:
    """The summary list of the court's progress report, as the liaison sees it."""
    world.liaison.is_active = True
    db.session.flush()
    world.sign_in(world.liaison)
    response = world.browser.get(f"/court/clients/{code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return page.split('<ul class="court-summary">', 1)[1].split("</ul>", 1)[0]


def test_no_change_is_reported_to_the_court_across_a_version_break(workspace: World, db: SQLAlchemy) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(
        client, workspace.t3m, HIGH, when=at(92, intake), versions={"who5": who5_v2(db, comparable=False)}
    )
    record_consent(db.session, client, "court", True, share_summary=True)
    summary = court_summary_of(workspace, db, client.code)
    who5_line = next(line for line in summary.split("<li>") if "WHO-5" in line)
    assert "reliably improved" not in who5_line
    assert "not compared: the questionnaire changed version" in who5_line


def test_a_version_declared_comparable_is_compared_for_the_court(workspace: World, db: SQLAlchemy) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(
        client, workspace.t3m, HIGH, when=at(92, intake), versions={"who5": who5_v2(db, comparable=True)}
    )
    record_consent(db.session, client, "court", True, share_summary=True)
    summary = court_summary_of(workspace, db, client.code)
    who5_line = next(line for line in summary.split("<li>") if "WHO-5" in line)
    assert "reliably improved" in who5_line


def court_page(world: World, db: SQLAlchemy, path: str, language: str) -> str:
    """A court page as the liaison sees it in `language`, as plain words."""
    world.liaison.is_active = True
    db.session.flush()
    world.sign_in(world.liaison)
    response = world.browser.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_the_court_list_names_what_each_report_holds_in_the_readers_language(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    record_consent(db.session, client, "court", True, share_scores=True, share_summary=True)
    page = court_page(workspace, db, "/court/", "nl")
    row = page.split(client.code, 1)[1]
    assert "attendance" not in row
    assert "aanwezigheid, scores, samenvatting" in row


def test_the_court_sees_scores_rounded_as_the_counsellor_does(workspace: World, db: SQLAlchemy) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    one_missing = phq9(2, 2, 2, 2, 2, 2, 2, 1, 0)
    del one_missing["phq9_sleep"]  # 13 over 8 items: prorated to 14.625, shown as 15
    workspace.submit(
        client, workspace.t0, {"who5": who5(1, 1, 2, 1, 1), "phq9": one_missing}, when=at(1, intake)
    )
    record_consent(db.session, client, "court", True, share_scores=True)
    page = court_page(workspace, db, f"/court/clients/{client.code}", "nl")
    scores = page.split("Scores", 1)[1]
    assert "14.625" not in scores
    assert "Totaalscore 15 Matig ernstig" in scores
    assert "Procentscore 24 " in scores
    assert "24.0" not in scores


def test_a_summary_line_says_only_what_there_is_to_say(workspace: World, db: SQLAlchemy) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(client, workspace.t3m, HIGH, when=at(92, intake))
    record_consent(db.session, client, "court", True, share_summary=True)
    summary = court_summary_of(workspace, db, client.code)
    lines = [" ".join(line.replace("</li>", "").split()) for line in summary.split("<li>")[1:]]
    assert "Well-being (WHO-5), Percentage score: reliably improved" in lines
    assert "Well-being (WHO-5), Raw score: now Adequate well-being" in lines
    assert all(": ;" not in line for line in lines)
    once = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(once, workspace.t0, LOW, when=at(1, intake))
    record_consent(db.session, once, "court", True, share_summary=True)
    summary = court_summary_of(workspace, db, once.code)
    assert "Percentage score" not in summary  # one score, no band: nothing to say
    assert "Raw score: now Low well-being" in " ".join(summary.split())
