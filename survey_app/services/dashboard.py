"""The counsellor's dashboard: alerts, who is due this week, who is overdue, recent submissions, the caseload.

Everything is read in a fixed number of queries whatever the caseload's size. "Due this week" and "overdue"
first narrow the caseload in SQL to clients with a timepoint window near today (from the anchor-date
ranges the pure schedule gives), then compute their exact states in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select

from survey_app.db import DbSession
from survey_app.domain.schedule import WEEK, ScheduledTimepoint, TimepointState, next_action
from survey_app.models.assessment import AssessmentSession, ScoreFlag
from survey_app.models.people import Client, ClientIdentity
from survey_app.models.programme import Timepoint, in_language
from survey_app.services.alerts import OpenAlerts, open_alerts
from survey_app.services.caseload import (
    CaseloadFilter,
    CaseloadPage,
    StaffScope,
    caseload_clause,
    caseload_page,
)
from survey_app.services.schedules import (
    Plans,
    ScheduleFacts,
    due_candidates_clause,
    programme_plans,
    schedule_facts,
    schedules_from,
)

RECENT_DAYS = 14
RECENT_LIMIT = 10
LIST_LIMIT = 25
NEEDS = ("due", "overdue")


@dataclass(frozen=True)
class ClientSummary:
    """The few facts of a client the due lists show and schedule from."""

    id: int
    code: str
    programme_id: int
    intake_date: dt.date
    status: str
    name: str


@dataclass(frozen=True)
class DueEntry:
    """A client and the timepoint that needs them."""

    client: ClientSummary
    entry: ScheduledTimepoint


@dataclass(frozen=True)
class RecentSubmission:
    """A session submitted lately."""

    public_id: str
    client_code: str
    submitted_at: dt.datetime
    timepoint_label: str | None
    mode: str
    flags: int
    timepoint_texts: dict[str, str] | None = None

    def timepoint_label_in(self, language: str) -> str | None:
        """The timepoint's label in ``language`` (else English); None for an extra session."""
        if self.timepoint_label is None:
            return None
        return in_language(self.timepoint_texts, language, self.timepoint_label)


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    alerts: OpenAlerts
    due_week: list[DueEntry]
    overdue: list[DueEntry]
    recent: list[RecentSubmission]
    caseload: CaseloadPage
    next_steps: dict[int, ScheduledTimepoint | None] = field(default_factory=dict)
    last_submitted: dict[int, dt.datetime] = field(default_factory=dict)
    open_alerts_by_client: dict[int, int] = field(default_factory=dict)


def due_candidates(
    session: DbSession, scope: StaffScope, plans: Plans, today: dt.date
) -> list[ClientSummary]:
    """Active clients of the caseload with a timepoint window between today and a week ahead (one query)."""
    horizon = today + dt.timedelta(days=WEEK - 1)
    rows = session.execute(
        select(
            Client.id,
            Client.code,
            Client.programme_id,
            Client.intake_date,
            Client.status,
            ClientIdentity.given_name,
            ClientIdentity.family_name,
        )
        .outerjoin(ClientIdentity, ClientIdentity.client_id == Client.id)
        .where(
            caseload_clause(scope), Client.status == "active", due_candidates_clause(plans, today, horizon)
        )
    )
    return [
        ClientSummary(row[0], row[1], row[2], row[3], row[4], " ".join(part for part in row[5:7] if part))
        for row in rows
    ]


def due_lists(
    candidates: Sequence[ClientSummary], plans: Plans, facts: ScheduleFacts, today: dt.date
) -> tuple[list[DueEntry], list[DueEntry]]:
    """Who is due this week (soonest target first) and who is overdue (soonest-closing window first)."""
    schedules = schedules_from(candidates, plans, facts, today)
    due, overdue = [], []
    for client in candidates:
        for entry in schedules[client.id]:
            if entry.state is TimepointState.OVERDUE:
                overdue.append(DueEntry(client, entry))
            elif entry.due_within(today):
                due.append(DueEntry(client, entry))
    due.sort(key=lambda item: (item.entry.target or today, item.client.code))
    overdue.sort(key=lambda item: (item.entry.window_end or today, item.client.code))
    return due, overdue


def recent_submissions(
    session: DbSession, scope: StaffScope, now: dt.datetime, *, limit: int = RECENT_LIMIT
) -> list[RecentSubmission]:
    """The caseload's sessions submitted in the last two weeks, newest first, with their flag count."""
    flags = (
        select(func.count(ScoreFlag.id)).where(ScoreFlag.session_id == AssessmentSession.id).scalar_subquery()
    )
    rows = session.execute(
        select(
            AssessmentSession.public_id,
            Client.code,
            AssessmentSession.submitted_at,
            Timepoint.label,
            AssessmentSession.mode,
            flags,
            Timepoint.label_texts,
        )
        .join(Client, Client.id == AssessmentSession.client_id)
        .outerjoin(Timepoint, Timepoint.id == AssessmentSession.timepoint_id)
        .where(
            AssessmentSession.submitted_at >= now - dt.timedelta(days=RECENT_DAYS),
            AssessmentSession.status == "submitted",
            caseload_clause(scope),
        )
        .order_by(AssessmentSession.submitted_at.desc())
        .limit(limit)
    ).all()
    return [RecentSubmission(*row) for row in rows]


def open_alert_counts(session: DbSession, client_ids: Sequence[int]) -> dict[int, int]:
    """Unacknowledged alerts per client (for the caseload rows)."""
    if not client_ids:
        return {}
    rows = session.execute(
        select(AssessmentSession.client_id, func.count(ScoreFlag.id))
        .join(ScoreFlag, ScoreFlag.session_id == AssessmentSession.id)
        .where(AssessmentSession.client_id.in_(list(client_ids)), ScoreFlag.acknowledged_at.is_(None))
        .group_by(AssessmentSession.client_id)
    )
    return {client_id: count for client_id, count in rows}


def _last_submitted(schedules: dict[int, tuple[ScheduledTimepoint, ...]]) -> dict[int, dt.datetime]:
    found = {}
    for client_id, entries in schedules.items():
        times = [
            entry.session.submitted_at for entry in entries if entry.session and entry.session.submitted_at
        ]
        if times:
            found[client_id] = max(times)
    return found


def build_dashboard(
    session: DbSession, scope: StaffScope, wanted: CaseloadFilter, *, today: dt.date, now: dt.datetime
) -> Dashboard:
    """The whole dashboard of a counsellor or site lead, in a fixed number of queries."""
    plans = programme_plans(session, scope.organisation_id)
    alerts = open_alerts(session, scope, now)
    candidates = due_candidates(session, scope, plans, today)
    if wanted.needs in NEEDS:  # the page shows some of the candidates: their facts suffice
        facts = schedule_facts(session, [client.id for client in candidates], plans)
        due, overdue = due_lists(candidates, plans, facts, today)
        chosen = due if wanted.needs == "due" else overdue
        page = caseload_page(
            session, scope, replace(wanted, client_ids=tuple(sorted({item.client.id for item in chosen})))
        )
    else:
        page = caseload_page(session, scope, wanted)
        ids = {client.id for client in candidates} | {client.id for client in page.clients}
        facts = schedule_facts(session, ids, plans)
        due, overdue = due_lists(candidates, plans, facts, today)
    schedules = schedules_from(page.clients, plans, facts, today)
    return Dashboard(
        alerts=alerts,
        due_week=due,
        overdue=overdue,
        recent=recent_submissions(session, scope, now),
        caseload=page,
        next_steps={client_id: next_action(entries) for client_id, entries in schedules.items()},
        last_submitted=_last_submitted(schedules),
        open_alerts_by_client=open_alert_counts(session, [client.id for client in page.clients]),
    )
