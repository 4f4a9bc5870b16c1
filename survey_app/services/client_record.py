"""Everything a client's page shows, read in a fixed, small number of queries.

The timeline (schedule), every session with its notes, the alerts, the scores over time per questionnaire and
scale with the change from intake, the domain profile, and the history of status and anchor-date changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.schedule import ScheduledTimepoint, next_action
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import Client, StaffUser
from survey_app.models.programme import Timepoint
from survey_app.models.workspace import ClientAnchorChange, ClientStatusChange
from survey_app.services.alerts import ClientAlert, client_alerts
from survey_app.services.notes import NoteView, notes_by_session
from survey_app.services.outcome_summary import ProfileDomain, domain_profile
from survey_app.services.schedules import anchors_offered, plan_of, schedule_of_client, session_fact
from survey_app.services.stored_versions import questionnaires_by_id
from survey_app.services.trends import InstrumentTrend, stored_scores, trends_from


@dataclass(frozen=True)
class SessionRow:
    """One session of the client, with its timepoint (none for an extra session) and its notes."""

    session: AssessmentSession
    timepoint: Timepoint | None
    notes: list[NoteView]

    def timepoint_label_in(self, language: str) -> str | None:
        """The timepoint's label in ``language`` (else English); None for an extra session."""
        return self.timepoint.label_in(language) if self.timepoint else None


@dataclass(frozen=True)
class ClientRecord:
    """The client's page, as data."""

    client: Client
    timepoints: list[Timepoint]
    schedule: tuple[ScheduledTimepoint, ...]
    next_step: ScheduledTimepoint | None
    next_timepoint: Timepoint | None
    sessions: list[SessionRow]
    alerts: list[ClientAlert]
    instruments: list[InstrumentTrend]
    profile: list[ProfileDomain]
    status_history: list[tuple[ClientStatusChange, str | None]]
    anchor_history: list[tuple[ClientAnchorChange, str | None]]
    anchors: tuple[str, ...]
    versions: dict[int, Questionnaire]

    @property
    def open_alerts(self) -> list[ClientAlert]:
        """Alerts nobody has acknowledged yet."""
        return [alert for alert in self.alerts if alert.flag.acknowledged_at is None]


def _sessions(session: DbSession, client_id: int) -> list[AssessmentSession]:
    return list(
        session.scalars(
            select(AssessmentSession)
            .where(AssessmentSession.client_id == client_id)
            .order_by(AssessmentSession.started_at.desc(), AssessmentSession.id.desc())
        )
    )


def _histories(
    session: DbSession, client_id: int
) -> tuple[list[tuple[ClientStatusChange, str | None]], list[tuple[ClientAnchorChange, str | None]]]:
    statuses = session.execute(
        select(ClientStatusChange, StaffUser.display_name)
        .outerjoin(StaffUser, StaffUser.id == ClientStatusChange.changed_by)
        .where(ClientStatusChange.client_id == client_id)
        .order_by(ClientStatusChange.changed_at.desc(), ClientStatusChange.id.desc())
    ).all()
    anchors = session.execute(
        select(ClientAnchorChange, StaffUser.display_name)
        .outerjoin(StaffUser, StaffUser.id == ClientAnchorChange.changed_by)
        .where(ClientAnchorChange.client_id == client_id)
        .order_by(ClientAnchorChange.changed_at.desc(), ClientAnchorChange.id.desc())
    ).all()
    return [(row, name) for row, name in statuses], [(row, name) for row, name in anchors]


def client_record(session: DbSession, client: Client, today: dt.date) -> ClientRecord:
    """Read everything the client's page shows."""
    timepoints = list(client.programme.timepoints)
    plans = [plan_of(timepoint) for timepoint in timepoints]
    sessions = _sessions(session, client.id)
    facts = [session_fact(row) for row in sessions if row.status != "cancelled"]
    status_history, anchor_history = _histories(session, client.id)
    history = sorted((row for row, _ in anchor_history), key=lambda row: (row.changed_at, row.id))
    schedule = schedule_of_client(client, plans, facts, history, today)
    step = next_action(schedule)
    by_id = {timepoint.id: timepoint for timepoint in timepoints}
    notes = notes_by_session(session, client.id)
    alerts = client_alerts(session, client.id)
    scores = stored_scores(session, client.id)
    versions = questionnaires_by_id(
        session,
        {row.questionnaire_version_id for row in scores} | {a.flag.questionnaire_version_id for a in alerts},
    )
    instruments = trends_from(scores, versions, timepoints[0].id if timepoints else None)
    return ClientRecord(
        client=client,
        timepoints=timepoints,
        schedule=schedule,
        next_step=step,
        next_timepoint=next((tp for tp in timepoints if step and tp.id == step.timepoint.id), None),
        sessions=[
            SessionRow(row, by_id.get(row.timepoint_id) if row.timepoint_id else None, notes.get(row.id, []))
            for row in sessions
        ],
        alerts=alerts,
        versions=versions,
        instruments=instruments,
        profile=domain_profile(instruments),
        status_history=status_history,
        anchor_history=anchor_history,
        anchors=anchors_offered(plans),
    )
