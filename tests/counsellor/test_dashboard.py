"""The dashboard: where staff land; what is due, overdue, alerting and new; the caseload."""

from __future__ import annotations

import datetime as dt
import re

from flask_sqlalchemy import SQLAlchemy

from survey_app.models import ClientIdentity
from tests.counsellor.conftest import TODAY, World, phq9, who5

CALM = {"who5": who5(3, 3, 3, 3, 3), "phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)}
RISKY = {"who5": who5(1, 1, 1, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 2)}


def section(page: str, anchor: str) -> str:
    """The HTML of one dashboard section."""
    match = re.search(rf'<section id="{anchor}".*?</section>', page, re.S)
    assert match, anchor
    return match.group(0)


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def test_counsellors_land_on_their_dashboard_and_other_roles_on_the_simple_page(workspace: World) -> None:
    workspace.sign_in(workspace.counsellor)
    page = workspace.browser.get("/").get_data(as_text=True)
    assert "Your caseload" in page and "Signed in as <strong>Casey Counsellor</strong> (counsellor)" in page
    workspace.sign_in(workspace.lead)
    assert "Your site" in workspace.browser.get("/").get_data(as_text=True)
    workspace.sign_in(workspace.researcher)
    page = workspace.browser.get("/").get_data(as_text=True)
    assert "Your caseload" not in page and "Signed in as" in page
    workspace.sign_in(workspace.counsellor)
    assert workspace.browser.get("/counsellor/?q=AB").headers["Location"] == "/?q=AB"


def test_due_this_week_and_overdue_follow_the_windows(workspace: World) -> None:
    due = workspace.client_of(
        workspace.counsellor, intake=days_ago(85)
    )  # 3-month window opened, target ahead
    overdue = workspace.client_of(workspace.counsellor, intake=days_ago(95))  # past the target, window open
    missed = workspace.client_of(workspace.counsellor, intake=days_ago(120))  # window closed
    done = workspace.client_of(workspace.counsellor, intake=days_ago(95))
    workspace.submit(done, workspace.t3m, CALM)
    paused = workspace.client_of(workspace.counsellor, intake=days_ago(95), status="paused")
    for client in (due, overdue, missed, done, paused):
        workspace.submit(
            client, workspace.t0, CALM, when=dt.datetime.combine(client.intake_date, dt.time(10), dt.UTC)
        )
    workspace.sign_in(workspace.counsellor)
    page = workspace.browser.get("/").get_data(as_text=True)
    due_list, overdue_list = section(page, "due"), section(page, "overdue")
    assert due.code in due_list and overdue.code not in due_list
    assert overdue.code in overdue_list and "3 months" in overdue_list
    for absent in (missed, done, paused):
        assert absent.code not in due_list and absent.code not in overdue_list


def test_alerts_reach_the_counsellor_at_once_with_what_they_are_about(workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, RISKY)
    workspace.sign_in(workspace.counsellor)
    alerts = section(workspace.browser.get("/").get_data(as_text=True), "alerts")
    assert client.code in alerts and "PHQ-9 item 9" in alerts and "Urgent" in alerts
    workspace.sign_in(workspace.colleague)
    assert client.code not in section(workspace.browser.get("/").get_data(as_text=True), "alerts")


def test_recent_submissions_list_the_last_two_weeks(workspace: World) -> None:
    recent = workspace.client_of(workspace.counsellor)
    old = workspace.client_of(workspace.counsellor)
    workspace.submit(recent, workspace.t0, CALM)
    workspace.submit(old, workspace.t0, CALM, when=dt.datetime.combine(days_ago(30), dt.time(9), dt.UTC))
    workspace.sign_in(workspace.counsellor)
    listed = section(workspace.browser.get("/").get_data(as_text=True), "recent")
    assert recent.code in listed and old.code not in listed


def test_the_caseload_is_searched_by_code_and_filtered_by_status(workspace: World, db: SQLAlchemy) -> None:
    active = workspace.client_of(workspace.counsellor)
    paused = workspace.client_of(workspace.counsellor, status="paused")
    db.session.add(ClientIdentity(client_id=active.id, given_name="Anna", family_name="Peeters"))
    db.session.flush()
    workspace.sign_in(workspace.counsellor)
    default = section(workspace.browser.get("/").get_data(as_text=True), "caseload")
    assert active.code in default and "Anna Peeters" in default and paused.code not in default
    everyone = section(workspace.browser.get("/?status=all").get_data(as_text=True), "caseload")
    assert active.code in everyone and paused.code in everyone
    searched = section(
        workspace.browser.get(f"/?status=all&q={paused.code[-4:].lower()}").get_data(as_text=True), "caseload"
    )
    assert paused.code in searched and active.code not in searched
    assert "0 clients match" in workspace.browser.get("/?q=%25").get_data(as_text=True)


def test_site_leads_filter_by_counsellor_and_see_unassigned_clients(workspace: World) -> None:
    mine = workspace.client_of(workspace.counsellor)
    theirs = workspace.client_of(workspace.colleague)
    nobody = workspace.client_of(None)
    workspace.sign_in(workspace.lead)
    everyone = section(workspace.browser.get("/").get_data(as_text=True), "caseload")
    assert all(client.code in everyone for client in (mine, theirs, nobody))
    only_casey = section(
        workspace.browser.get(f"/?counsellor={workspace.counsellor.id}").get_data(as_text=True), "caseload"
    )
    assert mine.code in only_casey and theirs.code not in only_casey
    unassigned = section(workspace.browser.get("/?counsellor=none").get_data(as_text=True), "caseload")
    assert nobody.code in unassigned and mine.code not in unassigned


def test_the_caseload_can_show_only_the_overdue(workspace: World) -> None:
    overdue = workspace.client_of(workspace.counsellor, intake=days_ago(95))
    calm = workspace.client_of(workspace.counsellor, intake=days_ago(40))
    workspace.sign_in(workspace.counsellor)
    listed = section(workspace.browser.get("/?needs=overdue").get_data(as_text=True), "caseload")
    assert overdue.code in listed and calm.code not in listed


def test_the_caseload_pages_through_many_clients(workspace: World) -> None:
    clients = [workspace.client_of(workspace.counsellor) for _ in range(27)]
    workspace.sign_in(workspace.counsellor)
    first = section(workspace.browser.get("/").get_data(as_text=True), "caseload")
    second = section(workspace.browser.get("/?page=2").get_data(as_text=True), "caseload")
    codes = sorted(client.code for client in clients)
    assert codes[0] in first and codes[-1] not in first and codes[-1] in second
    assert "Page 2 of 2" in second
    assert workspace.browser.get("/?page=99999999999").status_code == 200
