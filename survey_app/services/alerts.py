"""Risk alerts: the score flags scoring raises, who receives them, and their acknowledgement with a note.

An alert reaches the client's counsellor at once (their dashboard reads it on the next page). The organisation
chooses who else receives alerts: the site leads of the client's site (none, urgent alerts only, or all) and
named staff (for one site or every site; urgent alerts only, or all). Alerts of a client without a counsellor
always reach the site leads. An alert stays until someone who may see the client acknowledges it with a note;
the note stays in the workspace (never in the audit trail, never in a research export). Raising an alert (at
submit) and acknowledging it are audited with ids only.

A named recipient may open the clients whose alerts reach them, so naming one widens who sees a client.
Hence who may route: an admin decides all of it (the site-lead setting, anyone of the organisation for any
site or every site); a site lead only names, for one of their own sites, staff who work at that site, and
removes only the routing of their own sites. Nobody else changes the routing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select, update

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire, localise
from survey_app.models.assessment import AssessmentSession, ScoreFlag
from survey_app.models.base import utcnow
from survey_app.models.people import Client, StaffSiteMembership, StaffUser
from survey_app.models.programme import Site, Timepoint, in_language
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.models.workspace import (
    ALERT_SEVERITY_SCOPES,
    NOTE_MAX_LENGTH,
    SITE_LEAD_ALERTS,
    AlertAcknowledgement,
    AlertRecipient,
    AlertSetting,
)
from survey_app.services.audit import record_event
from survey_app.services.caseload import WORKSPACE_ROLES, StaffScope, visible_clause, workspace_clients
from survey_app.services.stored_versions import Identity, questionnaires_by_id, questionnaires_known
from survey_app.services.user_messages import N_

DASHBOARD_ALERTS = 15
#: Where the dashboard looks for the first alerts before sorting a whole backlog.
RECENT_ALERT_WINDOW = timedelta(days=30)
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
#: Unacknowledged alerts are counted up to this many; beyond it the page says "more than".
ALERT_COUNT_CAP = 1000


class AlertError(ValueError):
    """An alert cannot be acknowledged or a setting changed as asked; the message says why."""


class AlertNotFound(LookupError):
    """No alert with that id that this staff member may see."""


class AlertRoutingForbidden(PermissionError):
    """This staff member may not change that part of the alert routing (the page answers 403)."""


#: Who may change the alert routing at all (each limited further: see ``may_route``).
ROUTING_ROLES = ("site_lead", "admin")


def site_lead_setting(session: DbSession, organisation_id: int) -> str:
    """Which alerts the site leads receive in this organisation ("urgent" unless configured)."""
    value = session.scalar(
        select(AlertSetting.site_leads).where(AlertSetting.organisation_id == organisation_id)
    )
    return value or "urgent"


def _severity_matches(scope_name: str) -> ColumnElement[bool]:
    return and_(True) if scope_name == "all" else ScoreFlag.severity == "urgent"


def routed_clause(scope: StaffScope, site_leads: str) -> ColumnElement[bool]:
    """The alerts that reach this staff member's dashboard (over ScoreFlag, its session and its client)."""
    if not scope.works_with_clients:
        return false()
    reaches: list[ColumnElement[bool]] = [Client.counsellor_id == scope.user_id]
    if scope.is_site_lead and scope.site_ids:
        at_site = Client.site_id.in_(sorted(scope.site_ids))
        unassigned = Client.counsellor_id.is_(None)
        if site_leads == "none":
            reaches.append(and_(at_site, unassigned))
        else:
            reaches.append(and_(at_site, or_(unassigned, _severity_matches(site_leads))))
    for site_id, severities in scope.alert_severities.items():
        where_site = and_(True) if site_id is None else Client.site_id == site_id
        reaches.append(and_(where_site, _severity_matches(severities)))
    return and_(workspace_clients(scope.organisation_id), or_(*reaches))


@dataclass(frozen=True)
class AlertRow:
    """One alert as lists show it; `questionnaire` identifies the version that raised it."""

    flag_pk: int
    flag_id: str
    severity: str
    reported_at: datetime
    questionnaire_version_id: int
    session_public_id: str
    client_code: str
    timepoint_label: str | None
    questionnaire: Identity
    timepoint_texts: dict[str, str] | None = None

    def timepoint_label_in(self, language: str) -> str | None:
        """The timepoint's label in ``language`` (else English); None for an extra session."""
        if self.timepoint_label is None:
            return None
        return in_language(self.timepoint_texts, language, self.timepoint_label)


@dataclass(frozen=True)
class OpenAlerts:
    """The first alerts of a list and how many there are (counted up to `ALERT_COUNT_CAP`)."""

    rows: list[AlertRow]
    total: int

    @property
    def capped(self) -> bool:
        """True when there are more than `ALERT_COUNT_CAP` (the total is then a lower bound)."""
        return self.total > ALERT_COUNT_CAP


def _routed(scope: StaffScope, query: SelectT) -> SelectT:
    """`query` narrowed to unacknowledged alerts that reach this staff member (session and client joined)."""
    return (
        query.join(AssessmentSession, AssessmentSession.id == ScoreFlag.session_id)
        .join(Client, Client.id == AssessmentSession.client_id)
        .where(ScoreFlag.acknowledged_at.is_(None), routed_clause(scope, scope.site_lead_alerts))
    )


def open_alerts(
    session: DbSession, scope: StaffScope, now: datetime, *, limit: int = DASHBOARD_ALERTS
) -> OpenAlerts:
    """Unacknowledged alerts that reach this staff member, urgent then newest first (3 or 4 queries).

    The count stops at `ALERT_COUNT_CAP`. The first alerts are looked for among the last weeks' sessions
    first (a short range of each client's sessions); only when those are not all urgent does the whole
    backlog need sorting. Ids are picked on narrow rows, then their details read.
    """
    counted = _routed(scope, select(ScoreFlag.id)).limit(ALERT_COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    if not total:
        return OpenAlerts([], 0)
    order = (
        case((ScoreFlag.severity == "urgent", 0), else_=1),
        AssessmentSession.submitted_at.desc(),
        ScoreFlag.id,
    )
    first = select(ScoreFlag.id, ScoreFlag.severity).order_by(*order).limit(limit)
    recent = _routed(scope, first).where(AssessmentSession.submitted_at >= now - RECENT_ALERT_WINDOW)
    found = session.execute(recent).all()
    if len(found) < limit or any(severity != "urgent" for _, severity in found):
        found = session.execute(_routed(scope, first)).all()
    ids = [flag_pk for flag_pk, _ in found]
    rows = {}
    for row in session.execute(
        select(
            ScoreFlag.id,
            ScoreFlag.flag_id,
            ScoreFlag.severity,
            func.coalesce(AssessmentSession.submitted_at, ScoreFlag.raised_at),
            ScoreFlag.questionnaire_version_id,
            AssessmentSession.public_id,
            Client.code,
            Timepoint.label,
            QuestionnaireVersion.key,
            QuestionnaireVersion.version,
            QuestionnaireVersion.content_hash,
            Timepoint.label_texts,
        )
        .join(AssessmentSession, AssessmentSession.id == ScoreFlag.session_id)
        .join(Client, Client.id == AssessmentSession.client_id)
        .outerjoin(Timepoint, Timepoint.id == AssessmentSession.timepoint_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == ScoreFlag.questionnaire_version_id)
        .where(ScoreFlag.id.in_(ids))
    ):
        rows[row[0]] = AlertRow(
            flag_pk=row[0],
            flag_id=row[1],
            severity=row[2],
            reported_at=row[3],
            questionnaire_version_id=row[4],
            session_public_id=row[5],
            client_code=row[6],
            timepoint_label=row[7],
            questionnaire=(row[8], row[9], row[10]),
            timepoint_texts=row[11],
        )
    return OpenAlerts([rows[flag_pk] for flag_pk in ids if flag_pk in rows], total)


def flag_labels(
    session: DbSession,
    flags: Iterable[tuple[int, int, str]],
    language: str,
    identities: Mapping[int, Identity] | None = None,
) -> dict[int, str]:
    """What each alert is about, from the version that raised it: flags are (pk, version id, flag id).

    With the versions' `identities` (version id -> key, version, hash) already read, no query is needed.
    """
    wanted = list(flags)
    version_ids = {version_id for _, version_id, _ in wanted}
    if identities is not None and version_ids <= set(identities):
        versions = questionnaires_known(session, {key: identities[key] for key in version_ids})
    else:
        versions = questionnaires_by_id(session, version_ids)
    return {
        flag_pk: flag_label(versions[version_id], flag_id, language)
        for flag_pk, version_id, flag_id in wanted
    }


def flag_label(questionnaire: Questionnaire, flag_id: str, language: str) -> str:
    """What a flag of a questionnaire version is about, in `language` (its id when the version lacks it)."""
    flag = next((flag for flag in questionnaire.flags if flag.id == flag_id), None)
    return localise(flag.label, language) if flag else flag_id


def audit_raised_alerts(session: DbSession, assessment: AssessmentSession) -> int:
    """Record each alert the session's scoring raised (ids only: what it is about stays out of the audit)."""
    flag_pks = session.scalars(
        select(ScoreFlag.id)
        .where(ScoreFlag.session_id == assessment.id, ScoreFlag.acknowledged_at.is_(None))
        .order_by(ScoreFlag.id)
    ).all()
    for flag_pk in flag_pks:
        record_event(
            session,
            "alert.raise",
            actor_type="system",
            object_type="score_flag",
            object_id=flag_pk,
            details={"client_id": assessment.client_id, "session": assessment.public_id},
        )
    return len(flag_pks)


MAX_ACKNOWLEDGE = 100


def _clean_note(note: str) -> str:
    cleaned = note.strip()
    if not cleaned:
        raise AlertError(N_("Write what you did or decided about the alert before acknowledging it."))
    if len(cleaned) > NOTE_MAX_LENGTH:
        raise AlertError(N_("The note can have at most 4000 characters."))
    return cleaned


def acknowledge_alerts(
    session: DbSession, scope: StaffScope, flag_pks: Iterable[int], note: str, *, ip: str | None = None
) -> int:
    """Acknowledge alerts the staff member may see, each with the same note; returns how many.

    All or nothing: an alert the staff member may not see makes the whole request fail (AlertNotFound),
    and alerts that someone else acknowledged meanwhile are left as they are.
    """
    cleaned = _clean_note(note)
    wanted = sorted(set(flag_pks))
    if not wanted or len(wanted) > MAX_ACKNOWLEDGE:
        raise AlertError(N_("Choose between 1 and 100 alerts to acknowledge."))
    found = session.execute(
        select(ScoreFlag.id, Client.id, ScoreFlag.acknowledged_at)
        .join(AssessmentSession, AssessmentSession.id == ScoreFlag.session_id)
        .join(Client, Client.id == AssessmentSession.client_id)
        .where(ScoreFlag.id.in_(wanted), visible_clause(scope))
    ).all()
    if len(found) != len(wanted):
        raise AlertNotFound(wanted)
    clients = {flag_pk: client_id for flag_pk, client_id, _ in found}
    now = utcnow()
    claimed = session.scalars(
        update(ScoreFlag)
        .where(ScoreFlag.id.in_(wanted), ScoreFlag.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=scope.user_id)
        .returning(ScoreFlag.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        raise AlertError(N_("These alerts have already been acknowledged."))
    for flag_pk in sorted(claimed):
        session.add(
            AlertAcknowledgement(
                flag_id=flag_pk, acknowledged_by=scope.user_id, acknowledged_at=now, note=cleaned
            )
        )
        record_event(
            session,
            "alert.acknowledge",
            actor_type="staff",
            actor_id=scope.user_id,
            object_type="score_flag",
            object_id=flag_pk,
            ip=ip,
            details={"client_id": clients[flag_pk], "together_with": len(claimed) - 1},
        )
    session.flush()
    return len(claimed)


@dataclass(frozen=True)
class ClientAlert:
    """An alert of one client, with its acknowledgement when there is one."""

    flag: ScoreFlag
    session_public_id: str
    reported_at: datetime | None
    timepoint_label: str | None
    acknowledgement: AlertAcknowledgement | None
    acknowledged_by_name: str | None
    timepoint_texts: dict[str, str] | None = None

    def timepoint_label_in(self, language: str) -> str | None:
        """The timepoint's label in ``language`` (else English); None for an extra session."""
        if self.timepoint_label is None:
            return None
        return in_language(self.timepoint_texts, language, self.timepoint_label)


def client_alerts(session: DbSession, client_id: int) -> list[ClientAlert]:
    """Every alert of a client, open ones first, then newest first (one query)."""
    rows = session.execute(
        select(
            ScoreFlag,
            AssessmentSession.public_id,
            AssessmentSession.submitted_at,
            Timepoint.label,
            AlertAcknowledgement,
            StaffUser.display_name,
            Timepoint.label_texts,
        )
        .join(AssessmentSession, AssessmentSession.id == ScoreFlag.session_id)
        .outerjoin(Timepoint, Timepoint.id == AssessmentSession.timepoint_id)
        .outerjoin(AlertAcknowledgement, AlertAcknowledgement.flag_id == ScoreFlag.id)
        .outerjoin(StaffUser, StaffUser.id == ScoreFlag.acknowledged_by)
        .where(AssessmentSession.client_id == client_id)
        .order_by(ScoreFlag.acknowledged_at.is_not(None), AssessmentSession.submitted_at.desc(), ScoreFlag.id)
    ).all()
    return [ClientAlert(*row) for row in rows]


@dataclass(frozen=True)
class RoutingView:
    """An organisation's alert routing, for the settings page."""

    site_leads: str
    recipients: list[tuple[AlertRecipient, str, str | None]]


def works_at(session: DbSession, staff_user_id: int, site_id: int) -> bool:
    """True when the staff member is a member of the site."""
    membership = select(StaffSiteMembership.staff_user_id).where(
        StaffSiteMembership.staff_user_id == staff_user_id, StaffSiteMembership.site_id == site_id
    )
    return session.scalar(membership) is not None


def routing_view(
    session: DbSession, organisation_id: int, site_ids: frozenset[int] | None = None
) -> RoutingView:
    """The site-lead setting and the named recipients (with their names and site names).

    With ``site_ids`` (a site lead's sites), only the recipients of those sites and of every site.
    """
    query = (
        select(AlertRecipient, StaffUser.display_name, Site.name)
        .join(StaffUser, StaffUser.id == AlertRecipient.staff_user_id)
        .outerjoin(Site, Site.id == AlertRecipient.site_id)
        .where(AlertRecipient.organisation_id == organisation_id)
        .order_by(StaffUser.display_name, Site.name)
    )
    if site_ids is not None:
        query = query.where(
            or_(AlertRecipient.site_id.is_(None), AlertRecipient.site_id.in_(sorted(site_ids)))
        )
    recipients = session.execute(query).all()
    return RoutingView(
        site_lead_setting(session, organisation_id), [(row, name, site) for row, name, site in recipients]
    )


def _audit_setting(session: DbSession, scope: StaffScope, ip: str | None, **details: object) -> None:
    record_event(
        session,
        "alert_settings.update",
        actor_type="staff",
        actor_id=scope.user_id,
        object_type="organisation",
        object_id=scope.organisation_id,
        ip=ip,
        details=dict(details),
    )


def may_route(scope: StaffScope, site_id: int | None) -> bool:
    """True when the staff member may name or remove recipients of ``site_id`` (None: every site).

    An admin routes every site's alerts; a site lead only those of the sites they are a member of.
    """
    if scope.role == "admin":
        return True
    return scope.is_site_lead and site_id is not None and site_id in scope.site_ids


def may_set_site_lead_alerts(scope: StaffScope) -> bool:
    """True for an admin: which alerts the site leads receive is a setting of the whole organisation."""
    return scope.role == "admin"


def set_site_lead_alerts(session: DbSession, scope: StaffScope, value: str, *, ip: str | None = None) -> None:
    """Choose which alerts the organisation's site leads receive (an admin only)."""
    if not may_set_site_lead_alerts(scope):
        raise AlertRoutingForbidden(scope.user_id)
    if value not in SITE_LEAD_ALERTS:
        raise AlertError(N_("Choose none, urgent alerts only, or all alerts."))
    setting = session.get(AlertSetting, scope.organisation_id)
    if setting is None:
        setting = AlertSetting(organisation_id=scope.organisation_id)
        session.add(setting)
    setting.site_leads = value
    setting.updated_by = scope.user_id
    session.flush()
    _audit_setting(session, scope, ip, site_leads=value)


def add_recipient(
    session: DbSession,
    scope: StaffScope,
    staff_user_id: int,
    site_id: int | None,
    severities: str,
    *,
    ip: str | None = None,
) -> AlertRecipient:
    """Name a staff member of the organisation who also receives alerts (of one site, or every site).

    The recipient may then open the clients whose alerts reach them. An admin names anyone of the
    organisation, for any site or every site; a site lead only someone who works at one of their own sites,
    for that site (AlertError says why not, in words for the page).
    """
    if scope.role not in ROUTING_ROLES:
        raise AlertRoutingForbidden(scope.user_id)
    if severities not in ALERT_SEVERITY_SCOPES:
        raise AlertError(N_("Choose urgent alerts only, or all alerts."))
    staff = session.get(StaffUser, staff_user_id)
    if (
        staff is None
        or staff.organisation_id != scope.organisation_id
        or staff.role not in WORKSPACE_ROLES
        or not staff.is_active
    ):
        raise AlertError(N_("Choose a counsellor or site lead of your organisation."))
    if site_id is not None:
        site = session.get(Site, site_id)
        if site is None or site.organisation_id != scope.organisation_id:
            raise AlertError(N_("Choose one of your organisation's sites."))
    if not may_route(scope, site_id):
        if site_id is None:
            raise AlertError(
                N_(
                    "Only an admin can name someone for the alerts of every site. "
                    "Choose one of your own sites."
                )
            )
        raise AlertError(N_("Only an admin can route the alerts of a site you do not work at."))
    if scope.role != "admin" and site_id is not None and not works_at(session, staff_user_id, site_id):
        raise AlertError(
            N_("Choose someone who works at that site. Only an admin can name staff of other sites.")
        )
    duplicate = session.scalar(
        select(AlertRecipient.id).where(
            AlertRecipient.organisation_id == scope.organisation_id,
            AlertRecipient.staff_user_id == staff_user_id,
            AlertRecipient.site_id.is_(None) if site_id is None else AlertRecipient.site_id == site_id,
        )
    )
    if duplicate is not None:
        raise AlertError(N_("That person already receives these alerts."))
    recipient = AlertRecipient(
        organisation_id=scope.organisation_id,
        staff_user_id=staff_user_id,
        site_id=site_id,
        severities=severities,
        created_by=scope.user_id,
    )
    session.add(recipient)
    session.flush()
    _audit_setting(session, scope, ip, recipient_added=staff_user_id, site_id=site_id, severities=severities)
    return recipient


def remove_recipient(
    session: DbSession, scope: StaffScope, recipient_id: int, *, ip: str | None = None
) -> None:
    """Stop a named recipient's alerts: within the staff member's organisation (else AlertNotFound), and
    for a site lead only the routing of their own sites (else AlertRoutingForbidden).
    """
    recipient = session.get(AlertRecipient, recipient_id)
    if recipient is None or recipient.organisation_id != scope.organisation_id:
        raise AlertNotFound(recipient_id)
    if not may_route(scope, recipient.site_id):
        raise AlertRoutingForbidden(recipient_id)
    session.delete(recipient)
    session.flush()
    _audit_setting(session, scope, ip, recipient_removed=recipient.staff_user_id, site_id=recipient.site_id)
