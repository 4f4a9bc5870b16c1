"""Who sees which clients, and the caseload list with search, filters and pages.

A counsellor sees the clients whose counsellor they are; a site lead sees every client of their sites; a staff
member named as an alert recipient also sees the clients of the sites they receive alerts for, once a
client has had an alert of the kind they receive (urgent ones, or all). Seeing is not managing: only the
caseload (the counsellor, the site's leads) changes a client's details, dates or status. Nobody ever sees
a client of another organisation, nor an erased client (what erasure keeps is for research exports only).
Every query here carries these rules, so a tampered code or id finds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, null, or_, select, true, union_all
from sqlalchemy.orm import aliased, joinedload

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession, ScoreFlag
from survey_app.models.people import CLIENT_STATUSES, Client, StaffSiteMembership, StaffUser
from survey_app.models.programme import Site
from survey_app.models.workspace import AlertRecipient, AlertSetting
from survey_app.services.erased_clients import not_erased

#: Roles that work with clients in the counsellor's workspace.
WORKSPACE_ROLES = ("counsellor", "site_lead")
PAGE_SIZE = 25


@dataclass(frozen=True)
class StaffScope:
    """What one staff member may see: their organisation, sites, and the sites they receive alerts for."""

    user_id: int
    organisation_id: int
    role: str
    site_ids: frozenset[int]
    alert_severities: dict[int | None, str] = field(default_factory=dict)
    site_lead_alerts: str = "urgent"
    site_names: dict[int, str] = field(default_factory=dict)

    @property
    def is_site_lead(self) -> bool:
        """True for site leads, who see their whole site(s)."""
        return self.role == "site_lead"

    @property
    def works_with_clients(self) -> bool:
        """True for the roles the workspace serves."""
        return self.role in WORKSPACE_ROLES

    def manages(self, client: Client) -> bool:
        """True when the client is in this staff member's caseload (``caseload_clause``, in Python)."""
        if not self.works_with_clients:
            return False
        return client.counsellor_id == self.user_id or (self.is_site_lead and client.site_id in self.site_ids)


def scope_of(session: DbSession, user: StaffUser) -> StaffScope:
    """A staff member's scope: their sites, their alert coverage and the site-lead alert setting (1 query)."""
    memberships = (
        select(StaffSiteMembership.site_id, literal("member"), Site.name)
        .join(Site, Site.id == StaffSiteMembership.site_id)
        .where(StaffSiteMembership.staff_user_id == user.id, Site.organisation_id == user.organisation_id)
    )
    recipients = select(AlertRecipient.site_id, literal("recipient"), AlertRecipient.severities).where(
        AlertRecipient.staff_user_id == user.id, AlertRecipient.organisation_id == user.organisation_id
    )
    setting = select(null(), literal("setting"), AlertSetting.site_leads).where(
        AlertSetting.organisation_id == user.organisation_id
    )
    site_names: dict[int, str] = {}
    coverage: dict[int | None, str] = {}
    site_leads = "urgent"
    rows: Sequence[Any] = session.execute(union_all(memberships, recipients, setting)).all()
    for site_id, kind, value in rows:
        if kind == "member" and site_id is not None:
            site_names[site_id] = value
        elif kind == "recipient":
            coverage[site_id] = value
        else:
            site_leads = value
    return StaffScope(
        user_id=user.id,
        organisation_id=user.organisation_id,
        role=user.role,
        site_ids=frozenset(site_names),
        site_names=site_names,
        alert_severities=coverage,
        site_lead_alerts=site_leads,
    )


def workspace_clients(organisation_id: int) -> ColumnElement[bool]:
    """Clients the organisation's staff may work with at all: at one of its sites, and not erased."""
    return and_(
        Client.site_id.in_(select(Site.id).where(Site.organisation_id == organisation_id)), not_erased()
    )


def caseload_clause(scope: StaffScope) -> ColumnElement[bool]:
    """The clients a staff member works with: their own, or (site leads) everyone at their sites."""
    if not scope.works_with_clients:
        return false()
    own: ColumnElement[bool] = Client.counsellor_id == scope.user_id
    if scope.is_site_lead and scope.site_ids:
        own = or_(own, Client.site_id.in_(sorted(scope.site_ids)))
    return and_(workspace_clients(scope.organisation_id), own)


def alert_coverage_clause(scope: StaffScope) -> ColumnElement[bool] | None:
    """Clients whose alerts reach a named recipient: at a site they cover, with an alert of the kind they
    receive there (urgent only, or all; acknowledged or not). None when the staff member is no recipient.
    """
    if not scope.works_with_clients or not scope.alert_severities:
        return None
    flagged, flags = aliased(AssessmentSession), aliased(ScoreFlag)
    routes = [
        and_(
            true() if site_id is None else Client.site_id == site_id,
            true() if severities == "all" else flags.severity == "urgent",
        )
        for site_id, severities in sorted(scope.alert_severities.items(), key=lambda item: item[0] or 0)
    ]
    has_routed_alert = (
        select(flags.id)
        .join(flagged, flagged.id == flags.session_id)
        .where(flagged.client_id == Client.id, or_(*routes))
        .correlate(Client)
        .exists()
    )
    return and_(workspace_clients(scope.organisation_id), has_routed_alert)


def visible_clause(scope: StaffScope) -> ColumnElement[bool]:
    """Every client the staff member may open: their caseload, plus the clients whose alerts reach them."""
    caseload = caseload_clause(scope)
    coverage = alert_coverage_clause(scope)
    return caseload if coverage is None else or_(caseload, coverage)


def find_client(
    session: DbSession, scope: StaffScope, code: str, *, to_manage: bool = False
) -> Client | None:
    """The visible client with this code (site, programme, counsellor, identity and anchors loaded).

    ``to_manage``: only a client of the caseload (changing details, dates or status), not one the staff
    member sees only because its alerts reach them.
    """
    return (
        session.execute(
            select(Client)
            .options(
                joinedload(Client.site),
                joinedload(Client.programme),
                joinedload(Client.counsellor),
                joinedload(Client.identity),
                joinedload(Client.anchor_dates),
            )
            .where(
                Client.code == normalise_code(code),
                caseload_clause(scope) if to_manage else visible_clause(scope),
            )
        )
        .unique()
        .scalar_one_or_none()
    )


def normalise_code(code: str) -> str:
    """A client code as stored: trimmed and upper case."""
    return code.strip().upper()[:32]


@dataclass(frozen=True)
class CaseloadFilter:
    """Search and filters of the caseload list (already checked)."""

    query: str = ""
    status: str = "active"
    site_id: int | None = None
    counsellor_id: int | None = None
    unassigned: bool = False
    needs: str = ""
    client_ids: tuple[int, ...] | None = None
    page: int = 1

    def clause(self) -> ColumnElement[bool]:
        """The filters as one SQL condition."""
        conditions: list[ColumnElement[bool]] = []
        if self.client_ids is not None:
            conditions.append(Client.id.in_(self.client_ids))
        if self.query:
            conditions.append(Client.code.contains(normalise_code(self.query), autoescape=True))
        if self.status in CLIENT_STATUSES:
            conditions.append(Client.status == self.status)
        if self.site_id is not None:
            conditions.append(Client.site_id == self.site_id)
        if self.unassigned:
            conditions.append(Client.counsellor_id.is_(None))
        elif self.counsellor_id is not None:
            conditions.append(Client.counsellor_id == self.counsellor_id)
        return and_(*conditions) if conditions else and_(True)


@dataclass(frozen=True)
class CaseloadPage:
    """One page of the caseload: the clients and how many match in all."""

    clients: Sequence[Client]
    total: int
    page: int
    pages: int


def caseload_page(session: DbSession, scope: StaffScope, wanted: CaseloadFilter) -> CaseloadPage:
    """The matching clients of the caseload, a page at a time, by code (a count, then the page)."""
    conditions = (caseload_clause(scope), wanted.clause())
    total = session.scalar(select(func.count()).select_from(Client).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(wanted.page, 1), pages)
    clients: Sequence[Client] = []
    if total:
        clients = session.scalars(
            select(Client)
            .options(joinedload(Client.site), joinedload(Client.counsellor), joinedload(Client.identity))
            .where(*conditions)
            .order_by(Client.code)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
    return CaseloadPage(clients, total, page, pages)


def site_choices(session: DbSession, scope: StaffScope) -> list[Site]:
    """The sites a staff member registers clients at (their own sites in their organisation)."""
    if not scope.site_ids:
        return []
    return list(session.scalars(select(Site).where(Site.id.in_(sorted(scope.site_ids))).order_by(Site.name)))


def counsellor_choices(session: DbSession, scope: StaffScope) -> list[StaffUser]:
    """Active counsellors and site leads at the staff member's sites (whom a client can be assigned to)."""
    if not scope.site_ids:
        return []
    return list(
        session.scalars(
            select(StaffUser)
            .join(StaffSiteMembership, StaffSiteMembership.staff_user_id == StaffUser.id)
            .where(
                StaffSiteMembership.site_id.in_(sorted(scope.site_ids)),
                StaffUser.organisation_id == scope.organisation_id,
                StaffUser.role.in_(WORKSPACE_ROLES),
                StaffUser.is_active,
            )
            .distinct()
            .order_by(StaffUser.display_name)
        )
    )


def local_today(now: dt.datetime, timezone: dt.tzinfo) -> dt.date:
    """Today's date where the programme runs."""
    return now.astimezone(timezone).date()


def local_day_start(day: dt.date, timezone: dt.tzinfo) -> dt.datetime:
    """The moment (in UTC) a day begins in `timezone`; only `astimezone` is used, so pytz zones work too."""
    midnight_in_utc = dt.datetime.combine(day, dt.time(), dt.UTC)
    start = midnight_in_utc
    try:
        for _ in range(2):  # the second pass takes the offset at the local midnight itself (a DST change day)
            start = midnight_in_utc - (start.astimezone(timezone).utcoffset() or dt.timedelta())
    except OverflowError:  # the calendar's first day east of UTC: nothing can come before it
        return midnight_in_utc
    return start
