"""Retention per organisation: ended clients past the period are erased; a dry run only reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select, update

from survey_app.models import AssessmentSession, AuditEvent, ClientErasure, StaffSession
from survey_app.services import accounts
from survey_app.services.retention import apply_retention, clients_due, months_before, set_privacy_settings
from tests.security.conftest import CaseFile

Builder = Callable[..., Any]


def test_months_are_counted_on_the_calendar() -> None:
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 1, 15), 13) == dt.date(2024, 12, 15)
    assert months_before(dt.date(2024, 12, 31), 12) == dt.date(2023, 12, 31)


def test_only_ended_clients_past_the_period_are_due(
    db: SQLAlchemy, case_file: CaseFile, make_client: Builder
) -> None:
    org = case_file.organisation
    case_file.client.status = "completed"
    recent = make_client(
        site=case_file.site,
        programme=case_file.programme,
        status="withdrawn",
        intake_date=dt.date(2026, 4, 1),
    )
    active = make_client(site=case_file.site, programme=case_file.programme, intake_date=dt.date(2020, 1, 1))
    db.session.flush()
    due = {client.id for client in clients_due(db.session, org.id, 12, dt.date(2026, 6, 1))}
    assert due == {case_file.client.id}  # last session 2025-04-08 is past 12 months
    assert recent.id not in due and active.id not in due
    assert not clients_due(db.session, org.id, 18, dt.date(2026, 6, 1))  # newest session counts, not intake


def test_a_dry_run_reports_and_a_real_run_erases(
    app: Flask, db: SQLAlchemy, case_file: CaseFile, make_staff: Builder
) -> None:
    case_file.client.status = "withdrawn"
    set_privacy_settings(db.session, case_file.organisation, retention_months=12, research_legal_basis=None)
    old = make_staff()
    accounts.start_staff_session(db.session, old)
    db.session.execute(update(StaffSession).values(last_seen_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    db.session.flush()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "apply", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would erase 1 clients past 12 months" in dry.output and "to remove: 1" in dry.output
    assert db.session.scalar(select(func.count()).select_from(ClientErasure)) == 0
    real = runner.invoke(args=["retention", "apply"])
    assert real.exit_code == 0, real.output
    assert "erased 1 clients past 12 months (research data kept for 0)" in real.output
    assert db.session.scalar(select(ClientErasure.reason)) == "retention"
    assert db.session.scalar(select(func.count()).select_from(AssessmentSession)) == 0
    assert db.session.scalar(select(func.count()).select_from(StaffSession)) == 0
    assert "retention.apply" in db.session.scalars(select(AuditEvent.action)).all()
    again = apply_retention(db.session)
    assert again.clients_erased == 0


def test_settings_are_set_and_shown_by_command(app: Flask, db: SQLAlchemy, case_file: CaseFile) -> None:
    runner = app.test_cli_runner()
    name = case_file.organisation.name
    result = runner.invoke(
        args=[
            "retention",
            "set",
            "--organisation",
            name,
            "--months",
            "84",
            "--research-basis",
            "DPIA 2026-04",
        ]
    )
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["retention", "show"]).output
    assert f"{name}: 84 months after the programme ended; research legal basis: DPIA 2026-04" in shown
    assert runner.invoke(args=["retention", "set", "--organisation", name]).exit_code != 0
    changes = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "privacy.settings_change")
    ).all()
    assert changes[-1].details == {"retention_months": 84, "research_legal_basis_recorded": True}
