"""Moving a client to another site of the same organisation (the client moved house, or changed court).

Who may: someone who manages the client (their counsellor, or a site lead of the client's site) and who works
at the new site too. A counsellor moves only their own clients and stays their counsellor; a site lead
chooses the new counsellor among the active counsellors and site leads of the new site, themselves
included. The client always has a counsellor of the new site afterwards. Admins do not work with clients'
records; they give the person who moves the client both sites on the staff page.

What moves with the client: their code, programme, dates, sessions, scores, notes and alerts. Unacknowledged
alerts then reach the new counsellor and the people who receive the new site's alerts, no longer those of
the old site. A hand-over on a tablet of the old site ends (the answers given so far are kept); a client
answering on their own phone carries on. Every move is audited (ids only).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession, ScoreFlag
from survey_app.models.client_access import ClientModeSession
from survey_app.models.people import Client, StaffSiteMembership, StaffUser
from survey_app.models.programme import Site
from survey_app.services.audit import record_event
from survey_app.services.caseload import WORKSPACE_ROLES, StaffScope
from survey_app.services.client_access import end_client_mode
from survey_app.services.clients import ClientError
from survey_app.services.user_messages import N_


@dataclass(frozen=True)
class MoveChoices:
    """Where a staff member may move a client, and whom they may choose as its counsellor at each site."""

    sites: list[Site]
    counsellors: dict[int, list[StaffUser]]


@dataclass(frozen=True)
class SiteMove:
    """A move done: the new site and counsellor, the hand-overs ended and the open alerts that moved along."""

    site: Site
    counsellor: StaffUser
    hand_overs_ended: int
    open_alerts: int


def _workers(session: DbSession, organisation_id: int, site_ids: list[int]) -> list[tuple[int, StaffUser]]:
    """Active counsellors and site leads of these sites: (site id, person), by name."""
    if not site_ids:
        return []
    rows = session.execute(
        select(StaffSiteMembership.site_id, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSiteMembership.staff_user_id)
        .where(
            StaffSiteMembership.site_id.in_(site_ids),
            StaffUser.organisation_id == organisation_id,
            StaffUser.role.in_(WORKSPACE_ROLES),
            StaffUser.is_active,
        )
        .order_by(StaffUser.display_name, StaffUser.id)
    )
    return [(site_id, person) for site_id, person in rows]


def move_choices(session: DbSession, scope: StaffScope, client: Client) -> MoveChoices:
    """The sites the staff member may move the client to, with the counsellors they may choose there."""
    if not scope.manages(client):
        return MoveChoices([], {})
    sites = list(
        session.scalars(
            select(Site)
            .where(
                Site.id.in_(sorted(scope.site_ids - {client.site_id})),
                Site.organisation_id == scope.organisation_id,
            )
            .order_by(Site.name)
        )
    )
    counsellors: dict[int, list[StaffUser]] = {site.id: [] for site in sites}
    for site_id, person in _workers(session, scope.organisation_id, list(counsellors)):
        if scope.is_site_lead or person.id == scope.user_id:
            counsellors[site_id].append(person)
    return MoveChoices([site for site in sites if counsellors[site.id]], counsellors)


def _check_move(session: DbSession, scope: StaffScope, client: Client, site_id: int) -> Site:
    if not scope.manages(client):
        raise ClientError(
            N_("Only the client's counsellor or a site lead of the client's site can move them.")
        )
    if site_id == client.site_id:
        raise ClientError(N_("The client is already at that site. Choose the site they move to."))
    site = session.get(Site, site_id)
    if site is None or site.organisation_id != scope.organisation_id:
        raise ClientError(N_("Choose one of your organisation's sites."))
    if site_id not in scope.site_ids:
        raise ClientError(
            N_(
                "You can only move a client to a site where you work. Ask a site lead of that site, "
                "or an admin to add you to it."
            )
        )
    return site


def _check_counsellor(
    session: DbSession, scope: StaffScope, site: Site, counsellor_id: int | None
) -> StaffUser:
    if counsellor_id is None:
        raise ClientError(N_("Choose the client's counsellor at the new site."))
    if counsellor_id != scope.user_id and not scope.is_site_lead:
        raise ClientError(N_("Only a site lead can assign a client to another counsellor."))
    for site_id, person in _workers(session, scope.organisation_id, [site.id]):
        if person.id == counsellor_id and site_id == site.id:
            return person
    raise ClientError(N_("Choose a counsellor who works at the new site."))


def _end_tablet_hand_overs(session: DbSession, client: Client, actor_id: int, ip: str | None) -> int:
    rows = session.scalars(
        select(ClientModeSession)
        .join(AssessmentSession, AssessmentSession.id == ClientModeSession.assessment_session_id)
        .where(
            AssessmentSession.client_id == client.id,
            ClientModeSession.via == "tablet",
            ClientModeSession.ended_at.is_(None),
        )
    ).all()
    for row in rows:
        end_client_mode(session, row, "moved", actor_id=actor_id, ip=ip)
    return len(rows)


def _open_alerts(session: DbSession, client: Client) -> int:
    count = session.scalar(
        select(func.count(ScoreFlag.id))
        .join(AssessmentSession, AssessmentSession.id == ScoreFlag.session_id)
        .where(AssessmentSession.client_id == client.id, ScoreFlag.acknowledged_at.is_(None))
    )
    return int(count or 0)


def move_client(
    session: DbSession,
    scope: StaffScope,
    client: Client,
    site_id: int,
    counsellor_id: int | None,
    *,
    ip: str | None = None,
) -> SiteMove:
    """Move a client to another site of the organisation, to a counsellor there (ClientError says why not)."""
    site = _check_move(session, scope, client, site_id)
    counsellor = _check_counsellor(session, scope, site, counsellor_id)
    before = {"from_site_id": client.site_id, "from_counsellor_id": client.counsellor_id}
    client.site, client.counsellor = site, counsellor
    session.flush()
    move = SiteMove(
        site,
        counsellor,
        _end_tablet_hand_overs(session, client, scope.user_id, ip),
        _open_alerts(session, client),
    )
    record_event(
        session,
        "client.move",
        actor_type="staff",
        actor_id=scope.user_id,
        object_type="client",
        object_id=client.id,
        ip=ip,
        details={
            **before,
            "site_id": site.id,
            "counsellor_id": counsellor.id,
            "hand_overs_ended": move.hand_overs_ended,
            "open_alerts": move.open_alerts,
        },
    )
    return move
