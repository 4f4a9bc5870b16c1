"""Schedules in the database: programme timepoints, clients' anchor dates and live sessions, as domain facts.

The states themselves are computed by `survey_app.domain.schedule`; this module only reads what it needs (in a
fixed, small number of queries, whatever the number of clients) and records anchor-date changes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, and_, exists, false, or_, select

from survey_app.db import DbSession
from survey_app.domain.schedule import (
    AnchorChange,
    ScheduledTimepoint,
    SessionFact,
    TimepointPlan,
    Timing,
    client_schedule,
)
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import Client, ClientAnchorDate
from survey_app.models.programme import Programme, Timepoint
from survey_app.models.workspace import ClientAnchorChange
from survey_app.services.audit import record_event
from survey_app.services.user_messages import N_

#: Court milestones a client can have besides the intake date; a programme's timepoints may count from them.
COURT_MILESTONES = ("referral", "hearing")
#: The anchor dates in words (translated where they are shown).
ANCHOR_NAMES = {"intake": N_("Intake date"), "referral": N_("Referral date"), "hearing": N_("Hearing date")}
INTAKE = "intake"

Plans = Mapping[int, tuple[TimepointPlan, ...]]


class ScheduledClient(Protocol):
    """What a schedule needs to know of a client (a Client row, or a lighter summary of one)."""

    @property
    def id(self) -> int: ...

    @property
    def programme_id(self) -> int: ...

    @property
    def intake_date(self) -> dt.date: ...

    @property
    def status(self) -> str: ...


class ScheduleError(ValueError):
    """An anchor date cannot be changed as asked; the message says why."""


def plan_of(timepoint: Timepoint) -> TimepointPlan:
    """The domain view of a stored timepoint."""
    return TimepointPlan(
        id=timepoint.id,
        key=timepoint.key,
        label=timepoint.label,
        position=timepoint.position,
        anchor=timepoint.anchor,
        offset_days=timepoint.offset_days,
        window_before_days=timepoint.window_before_days,
        window_after_days=timepoint.window_after_days,
        labels=dict(timepoint.label_texts or {}),
    )


def due_on(
    anchor: str | None, offset_days: int | None, before_days: int | None, after_days: int | None
) -> Timing | None:
    """The schedule a session recorded when it started (None when it recorded none)."""
    if anchor is None or offset_days is None or before_days is None or after_days is None:
        return None
    return Timing(anchor, offset_days, before_days, after_days)


def session_fact(row: AssessmentSession) -> SessionFact:
    """The domain view of a stored session, with the schedule it was due on."""
    return SessionFact(
        row.timepoint_id,
        row.status,
        row.started_at,
        row.submitted_at,
        due_on(row.due_anchor, row.due_offset_days, row.due_window_before_days, row.due_window_after_days),
    )


def programme_plans(session: DbSession, organisation_id: int) -> dict[int, tuple[TimepointPlan, ...]]:
    """Every programme of an organisation with its timepoints in order: programme id -> plans (one query)."""
    rows = session.scalars(
        select(Timepoint)
        .join(Programme, Programme.id == Timepoint.programme_id)
        .where(Programme.organisation_id == organisation_id)
        .order_by(Timepoint.programme_id, Timepoint.position)
    )
    plans: dict[int, list[TimepointPlan]] = defaultdict(list)
    for timepoint in rows:
        plans[timepoint.programme_id].append(plan_of(timepoint))
    return {programme_id: tuple(items) for programme_id, items in plans.items()}


def anchors_offered(plans: Iterable[TimepointPlan]) -> tuple[str, ...]:
    """The anchors a client can have: intake, the court milestones and any the programme uses."""
    used = [plan.anchor for plan in plans if plan.anchor != INTAKE]
    return (INTAKE, *dict.fromkeys([*COURT_MILESTONES, *used]))


def anchor_dates(session: DbSession, client_ids: Collection[int]) -> dict[int, dict[str, dt.date]]:
    """Court-milestone dates of several clients: client id -> anchor -> date (intake lives on the client)."""
    found: dict[int, dict[str, dt.date]] = defaultdict(dict)
    if client_ids:
        rows = session.execute(
            select(ClientAnchorDate.client_id, ClientAnchorDate.anchor, ClientAnchorDate.date).where(
                ClientAnchorDate.client_id.in_(list(client_ids))
            )
        )
        for client_id, anchor, day in rows:
            found[client_id][anchor] = day
    return found


def live_sessions(session: DbSession, client_ids: Collection[int]) -> dict[int, list[SessionFact]]:
    """Open and submitted sessions at timepoints of several clients: client id -> facts (one query).

    The start time is left out: schedules need it only on a client's own page, which reads whole sessions.
    """
    found: dict[int, list[SessionFact]] = defaultdict(list)
    if client_ids:
        rows = session.execute(
            select(
                AssessmentSession.client_id,
                AssessmentSession.timepoint_id,
                AssessmentSession.status,
                AssessmentSession.submitted_at,
                AssessmentSession.due_anchor,
                AssessmentSession.due_offset_days,
                AssessmentSession.due_window_before_days,
                AssessmentSession.due_window_after_days,
            ).where(
                AssessmentSession.client_id.in_(list(client_ids)),
                AssessmentSession.timepoint_id.is_not(None),
                AssessmentSession.status != "cancelled",
            )
        )
        for client_id, timepoint_id, status, submitted_at, anchor, offset, before, after in rows:
            timing = due_on(anchor, offset, before, after)
            found[client_id].append(
                SessionFact(timepoint_id, status, submitted_at=submitted_at, due_on=timing)
            )
    return found


@dataclass(frozen=True)
class ScheduleFacts:
    """What schedules are computed from, for several clients: live sessions and court-milestone dates."""

    sessions: dict[int, list[SessionFact]]
    anchors: dict[int, dict[str, dt.date]]


def schedule_facts(session: DbSession, client_ids: Collection[int], plans: Plans) -> ScheduleFacts:
    """Read the facts of several clients in one query (two when a programme counts from a milestone)."""
    milestones = any(plan.anchor != INTAKE for items in plans.values() for plan in items)
    return ScheduleFacts(
        live_sessions(session, client_ids), anchor_dates(session, client_ids) if milestones else {}
    )


def schedules_from(
    clients: Iterable[ScheduledClient], plans: Plans, facts: ScheduleFacts, today: dt.date
) -> dict[int, tuple[ScheduledTimepoint, ...]]:
    """The schedule of each client from facts already read (pending timepoints need current anchors only)."""
    return {
        client.id: client_schedule(
            plans.get(client.programme_id, ()),
            {**facts.anchors.get(client.id, {}), INTAKE: client.intake_date},
            facts.sessions.get(client.id, ()),
            today,
            client_status=client.status,
        )
        for client in clients
    }


def schedule_of_client(
    client: Client,
    plans: Sequence[TimepointPlan],
    sessions: Sequence[SessionFact],
    history: Sequence[ClientAnchorChange],
    today: dt.date,
) -> tuple[ScheduledTimepoint, ...]:
    """One client's full schedule, completed timepoints dated by the anchors of their day."""
    anchors = {row.anchor: row.date for row in client.anchor_dates}
    anchors[INTAKE] = client.intake_date
    changes = [AnchorChange(row.anchor, row.previous_date, row.changed_at) for row in history]
    return client_schedule(
        plans, anchors, sessions, today, client_status=client.status, anchor_changes=changes
    )


def due_candidates_clause(plans: Plans, first_day: dt.date, last_day: dt.date) -> ColumnElement[bool]:
    """Clients with a timepoint still without a session whose window overlaps `first_day`..`last_day`.

    Sargable on the anchor dates; the "no session yet" test uses the unique index on live sessions.
    """
    conditions: list[ColumnElement[bool]] = []
    for programme_id, timepoints in plans.items():
        for plan in timepoints:
            earliest, latest = plan.anchor_range(first_day, last_day)
            if plan.anchor == INTAKE:
                in_range: ColumnElement[bool] = Client.intake_date.between(earliest, latest)
            else:
                in_range = exists().where(
                    ClientAnchorDate.client_id == Client.id,
                    ClientAnchorDate.anchor == plan.anchor,
                    ClientAnchorDate.date.between(earliest, latest),
                )
            taken = exists().where(
                AssessmentSession.client_id == Client.id,
                AssessmentSession.timepoint_id == plan.id,
                AssessmentSession.status != "cancelled",
            )
            conditions.append(and_(Client.programme_id == programme_id, in_range, ~taken))
    return or_(*conditions) if conditions else false()


def change_anchor_dates(
    session: DbSession,
    client: Client,
    wanted: Mapping[str, dt.date | None],
    *,
    actor_id: int,
    ip: str | None = None,
) -> list[str]:
    """Set, move or remove anchor dates; record each change (history + audit); returns the anchors changed."""
    current = {row.anchor: row for row in client.anchor_dates}
    changed = []
    for anchor, new_date in wanted.items():
        previous: dt.date | None
        if anchor == INTAKE:
            if new_date is None:
                raise ScheduleError(N_("A client always has an intake date."))
            previous = client.intake_date
            client.intake_date = new_date
        else:
            row = current.get(anchor)
            previous = row.date if row else None
            if new_date is None and row is not None:
                client.anchor_dates.remove(row)
            elif new_date is not None and row is None:
                client.anchor_dates.append(ClientAnchorDate(anchor=anchor, date=new_date))
            elif new_date is not None and row is not None:
                row.date = new_date
        if previous == new_date:
            continue
        session.add(
            ClientAnchorChange(
                client_id=client.id,
                anchor=anchor,
                previous_date=previous,
                new_date=new_date,
                changed_by=actor_id,
            )
        )
        changed.append(anchor)
    if changed:
        session.flush()
        record_event(
            session,
            "client.anchors_change",
            actor_type="staff",
            actor_id=actor_id,
            object_type="client",
            object_id=client.id,
            ip=ip,
            details={"anchors": changed},
        )
    return changed
