"""An admin's change of a timepoint moves only the timepoints still without a session."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from flask_sqlalchemy import SQLAlchemy

from survey_app.domain.schedule import TimepointState
from survey_app.models import AssessmentSession, Client
from survey_app.services.assessments import start_session
from survey_app.services.client_record import client_record
from survey_app.services.consent import consent_for, record_consent
from survey_app.services.programme_admin import BatteryChoice, draft_of, save_timepoint
from survey_app.services.schedules import change_anchor_dates
from survey_app.services.sharing import build_court_report
from tests.counsellor.conftest import TODAY, World, bank_version
from tests.counsellor.test_client_page import at, page_of, section

INTAKE = TODAY - dt.timedelta(days=100)


def day(number: int) -> dt.date:
    """The day `number` days after the intake."""
    return INTAKE + dt.timedelta(days=number)


def _done_on_day_92(world: World, db: SQLAlchemy) -> tuple[Client, AssessmentSession]:
    """A client who did the 3-month timepoint (then 91 days, 14 either side) on day 92."""
    client = world.client_of(world.counsellor, intake=INTAKE)
    row = start_session(db.session, client, world.t3m, created_by=world.counsellor.id)
    row.status, row.submitted_at = "submitted", at(92, INTAKE)
    db.session.flush()
    return client, row


def _move_three_months_to_day_100(world: World, db: SQLAlchemy) -> None:
    bank_version("who5")
    draft = replace(
        draft_of(world.t3m),
        offset_days=100,
        window_before_days=7,
        window_after_days=7,
        battery=(BatteryChoice("who5", None, core=True),),
    )
    save_timepoint(db.session, world.admin, world.programme, world.t3m, draft)
    db.session.flush()


def _three_months(world: World, db: SQLAlchemy, client: Client) -> tuple[object, ...]:
    db.session.refresh(client)
    entry = next(e for e in client_record(db.session, client, TODAY).schedule if e.timepoint.key == "t3m")
    return entry.state, entry.window_start, entry.target, entry.window_end


def test_a_completed_timepoint_keeps_its_due_date_and_window_after_the_admin_moves_it(
    workspace: World, db: SQLAlchemy
) -> None:
    done, _ = _done_on_day_92(workspace, db)
    waiting = workspace.client_of(workspace.counsellor, intake=INTAKE)
    _move_three_months_to_day_100(workspace, db)

    assert _three_months(workspace, db, done) == (TimepointState.COMPLETED, day(77), day(91), day(105))
    assert _three_months(workspace, db, waiting) == (TimepointState.DUE, day(93), day(100), day(107))


def test_an_open_session_keeps_the_schedule_it_was_started_on(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor, intake=INTAKE)
    start_session(db.session, client, workspace.t3m, created_by=workspace.counsellor.id)
    _move_three_months_to_day_100(workspace, db)
    assert _three_months(workspace, db, client) == (TimepointState.OPEN, day(77), day(91), day(105))


def test_the_timeline_dashboard_and_court_summary_agree_after_the_change(
    workspace: World, db: SQLAlchemy
) -> None:
    done, _ = _done_on_day_92(workspace, db)
    waiting = workspace.client_of(workspace.counsellor, intake=INTAKE)
    _move_three_months_to_day_100(workspace, db)
    record_consent(db.session, done, "court", True)
    db.session.flush()

    attendance = build_court_report(
        db.session, done, consent_for(db.session, done.id, "court"), today=TODAY, timezone=dt.UTC
    ).attendance
    three_months = next(row for row in attendance if row.timepoint == "3 months")
    assert (three_months.due, three_months.status) == (INTAKE + dt.timedelta(days=91), "completed")

    workspace.sign_in(workspace.counsellor)
    dashboard = workspace.browser.get("/").get_data(as_text=True)
    due = section(dashboard, "due")
    assert waiting.code in due and done.code not in due
    assert waiting.code not in section(dashboard, "overdue")  # under the old 91 ± 14 days it would be
    timeline = section(page_of(workspace, done.code), "timeline")
    three = timeline.split("3 months</h3>", 1)[1].split("</li>", 1)[0]
    assert "state-completed" in three
    assert re.search(r"Target date: [^<]*\b" + str((INTAKE + dt.timedelta(days=91)).day) + r"\b", three)


def test_the_court_dates_a_completed_timepoint_as_the_client_page_does_after_the_intake_date_moves(
    workspace: World, db: SQLAlchemy
) -> None:
    done, _ = _done_on_day_92(workspace, db)
    _move_three_months_to_day_100(workspace, db)
    later_intake = {"intake": INTAKE + dt.timedelta(days=10)}
    change_anchor_dates(db.session, done, later_intake, actor_id=workspace.counsellor.id)
    record_consent(db.session, done, "court", True)
    db.session.flush()

    attendance = build_court_report(
        db.session, done, consent_for(db.session, done.id, "court"), today=TODAY, timezone=dt.UTC
    ).attendance
    three_months = next(row for row in attendance if row.timepoint == "3 months")
    assert (three_months.due, three_months.status, three_months.completed_on) == (
        day(91),
        "completed",
        day(92),
    )
    assert _three_months(workspace, db, done) == (TimepointState.COMPLETED, day(77), day(91), day(105))
    six_months = next(row for row in attendance if row.timepoint == "6 months")
    assert six_months.due == later_intake["intake"] + dt.timedelta(days=182)  # not done: the new intake date
