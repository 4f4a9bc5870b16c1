"""Retention: erase clients whose programme ended longer ago than their organisation keeps data.

Each organisation sets ``privacy_settings.retention_months`` (none set: nothing is removed). A client
is due when their status is withdrawn or completed and their last activity (intake, or the newest
session) is older than that. Due clients are erased like an erasure request (``gdpr.erase_client``,
reason "retention"): identifiers and link key go, research data stays only under a recorded legal
basis. Ended sign-in sessions older than 30 days are removed too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession
from survey_app.models.base import utcnow
from survey_app.models.people import Client, StaffSession, StaffUser
from survey_app.models.programme import Organisation, Site
from survey_app.models.security import PrivacySettings
from survey_app.services.audit import record_event
from survey_app.services.erased_clients import not_erased
from survey_app.services.gdpr import erase_client

__all__ = [
    "ENDED_STATUSES",
    "SESSION_KEEP_DAYS",
    "OrganisationRetention",
    "RetentionReport",
    "apply_retention",
    "clients_due",
    "set_privacy_settings",
]

ENDED_STATUSES = ("withdrawn", "completed")
SESSION_KEEP_DAYS = 30


@dataclass
class OrganisationRetention:
    """What retention did (or would do) for one organisation."""

    organisation: str
    months: int
    clients_erased: int = 0
    research_data_kept: int = 0


@dataclass
class RetentionReport:
    """The outcome of one retention run."""

    dry_run: bool
    organisations: list[OrganisationRetention] = field(default_factory=list)
    staff_sessions_removed: int = 0

    @property
    def clients_erased(self) -> int:
        """Clients erased (or due, in a dry run) across organisations."""
        return sum(entry.clients_erased for entry in self.organisations)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (next_month - dt.timedelta(days=1)).day))


def clients_due(session: DbSession, organisation_id: int, months: int, today: dt.date) -> Sequence[Client]:
    """Ended, not yet erased clients of the organisation whose last activity is before the cut-off."""
    cutoff = months_before(today, months)
    newest_session = (
        select(func.max(AssessmentSession.started_at))
        .where(AssessmentSession.client_id == Client.id)
        .scalar_subquery()
    )
    cutoff_moment = dt.datetime.combine(cutoff, dt.time(), tzinfo=dt.UTC)
    return session.scalars(
        select(Client)
        .join(Site, Site.id == Client.site_id)
        .where(
            Site.organisation_id == organisation_id,
            Client.status.in_(ENDED_STATUSES),
            Client.intake_date < cutoff,
            or_(newest_session.is_(None), newest_session < cutoff_moment),
            not_erased(),
        )
        .order_by(Client.id)
    ).all()


def _remove_old_staff_sessions(session: DbSession, now: dt.datetime, dry_run: bool) -> int:
    cutoff = now - dt.timedelta(days=SESSION_KEEP_DAYS)
    old = or_(StaffSession.revoked_at < cutoff, StaffSession.last_seen_at < cutoff)
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(StaffSession).where(old)) or 0)
    return int(session.execute(delete(StaffSession).where(old)).rowcount or 0)  # type: ignore[attr-defined]


def apply_retention(
    session: DbSession,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    on_client: Callable[[], None] | None = None,
) -> RetentionReport:
    """Erase every client past their organisation's retention period (or count them, in a dry run)."""
    now = now or utcnow()
    report = RetentionReport(dry_run=dry_run)
    settings = session.execute(
        select(PrivacySettings, Organisation.name)
        .join(Organisation, Organisation.id == PrivacySettings.organisation_id)
        .where(PrivacySettings.retention_months.is_not(None))
        .order_by(Organisation.name)
    )
    for setting, name in settings:
        months = int(setting.retention_months or 0)
        entry = OrganisationRetention(name, months)
        for client in clients_due(session, setting.organisation_id, months, now.date()):
            entry.clients_erased += 1
            if not dry_run:
                entry.research_data_kept += erase_client(
                    session, client, reason="retention", now=now
                ).research_data_kept
            if on_client is not None:
                on_client()
        report.organisations.append(entry)
    report.staff_sessions_removed = _remove_old_staff_sessions(session, now, dry_run)
    if not dry_run:
        record_event(
            session,
            "retention.apply",
            details={
                "clients_erased": report.clients_erased,
                "staff_sessions_removed": report.staff_sessions_removed,
            },
        )
    return report


def set_privacy_settings(
    session: DbSession,
    organisation: Organisation,
    *,
    retention_months: int | None,
    research_legal_basis: str | None,
    actor: StaffUser | None = None,
    ip: str | None = None,
) -> PrivacySettings:
    """Set the organisation's retention period and research legal basis (an audited admin change)."""
    if retention_months is not None and retention_months < 1:
        raise ValueError("The retention period must be at least one month.")
    basis = (research_legal_basis or "").strip() or None
    if basis is not None and len(basis) > 500:
        raise ValueError("The legal basis can have at most 500 characters.")
    settings = session.get(PrivacySettings, organisation.id)
    if settings is None:
        settings = PrivacySettings(organisation_id=organisation.id)
        session.add(settings)
    settings.retention_months = retention_months
    settings.research_legal_basis = basis
    settings.updated_by = actor.id if actor else None
    session.flush()
    record_event(
        session,
        "privacy.settings_change",
        actor_type="staff" if actor else "system",
        actor_id=actor.id if actor else None,
        object_type="organisation",
        object_id=organisation.id,
        ip=ip,
        details={"retention_months": retention_months, "research_legal_basis_recorded": basis is not None},
    )
    return settings
