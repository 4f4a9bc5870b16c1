"""Registering clients, editing them and changing their status; every change is audited (ids only).

A client is known by a pseudonymous code the app generates: the site code, a dash and six random Crockford
base32 characters (30 bits; no I, L, O or U, so it reads aloud and types without confusion). Names are
optional and kept apart in ClientIdentity.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.models.base import LANGUAGES
from survey_app.models.people import Client, ClientAnchorDate, ClientIdentity, StaffSiteMembership, StaffUser
from survey_app.models.programme import Programme, Site
from survey_app.models.workspace import NOTE_MAX_LENGTH, ClientAnchorChange, ClientStatusChange
from survey_app.services.audit import record_event
from survey_app.services.caseload import WORKSPACE_ROLES, StaffScope
from survey_app.services.user_messages import N_

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_RANDOM_LENGTH = 6
NAME_MAX_LENGTH = 200

#: The status changes a counsellor can make, by the status a client has now.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "active": ("paused", "withdrawn", "completed"),
    "paused": ("active", "withdrawn", "completed"),
    "withdrawn": ("active",),
    "completed": ("active",),
}

#: Each client status in words (English, marked for translation where it is shown).
CLIENT_STATUS_WORDS: dict[str, str] = {
    "active": N_("Active"),
    "paused": N_("Paused"),
    "withdrawn": N_("Withdrawn"),
    "completed": N_("Programme completed"),
}


class ClientError(ValueError):
    """A client cannot be registered or changed as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Registration:
    """What a counsellor enters to register a client."""

    site_id: int
    programme_id: int
    preferred_language: str
    intake_date: dt.date
    counsellor_id: int | None
    milestones: Mapping[str, dt.date]
    given_name: str = ""
    family_name: str = ""


def new_client_code(site_code: str) -> str:
    """A fresh pseudonymous code: site code, dash, six random Crockford base32 characters."""
    suffix = "".join(secrets.choice(CROCKFORD) for _ in range(CODE_RANDOM_LENGTH))
    prefix = "".join(character for character in site_code.upper() if character.isalnum() or character == "-")
    return f"{prefix[: 32 - CODE_RANDOM_LENGTH - 1]}-{suffix}"


def _unique_code(session: DbSession, site: Site) -> str:
    for _ in range(20):
        code = new_client_code(site.code)
        if session.scalar(select(Client.id).where(Client.code == code)) is None:
            return code
    # 2^30 codes per site: twenty collisions in a row do not happen in practice.
    raise ClientError(N_("Could not find a free client code; try again."))


def _check_counsellor(session: DbSession, scope: StaffScope, counsellor_id: int | None, site_id: int) -> None:
    if counsellor_id is None or counsellor_id == scope.user_id:
        return
    if not scope.is_site_lead:
        raise ClientError(N_("Only a site lead can assign a client to another counsellor."))
    allowed = session.scalar(
        select(StaffUser.id)
        .join(StaffSiteMembership, StaffSiteMembership.staff_user_id == StaffUser.id)
        .where(
            StaffUser.id == counsellor_id,
            StaffSiteMembership.site_id == site_id,
            StaffUser.organisation_id == scope.organisation_id,
            StaffUser.role.in_(WORKSPACE_ROLES),
            StaffUser.is_active,
        )
    )
    if allowed is None:
        raise ClientError(N_("Choose a counsellor who works at the client's site."))


def _clean_name(value: str) -> str | None:
    cleaned = " ".join(value.split())[:NAME_MAX_LENGTH]
    return cleaned or None


def register_client(
    session: DbSession, scope: StaffScope, wanted: Registration, *, ip: str | None = None
) -> Client:
    """Register a client at one of the staff member's sites, in one of their organisation's programmes."""
    if wanted.site_id not in scope.site_ids:
        raise ClientError(N_("You can only register clients at a site where you work."))
    site = session.get(Site, wanted.site_id)
    programme = session.get(Programme, wanted.programme_id)
    if site is None or programme is None or programme.organisation_id != scope.organisation_id:
        raise ClientError(N_("Choose one of your organisation's programmes."))
    if wanted.preferred_language not in LANGUAGES:
        raise ClientError(N_("Choose English, Dutch or French."))
    counsellor_id = wanted.counsellor_id if scope.is_site_lead else scope.user_id
    _check_counsellor(session, scope, counsellor_id, site.id)
    client = Client(
        code=_unique_code(session, site),
        site_id=site.id,
        programme_id=programme.id,
        counsellor_id=counsellor_id,
        preferred_language=wanted.preferred_language,
        intake_date=wanted.intake_date,
        anchor_dates=[ClientAnchorDate(anchor=anchor, date=day) for anchor, day in wanted.milestones.items()],
    )
    given, family = _clean_name(wanted.given_name), _clean_name(wanted.family_name)
    if given or family:
        client.identity = ClientIdentity(given_name=given, family_name=family)
    session.add(client)
    session.flush()
    session.add_all(
        ClientAnchorChange(client_id=client.id, anchor=anchor, new_date=day, changed_by=scope.user_id)
        for anchor, day in {"intake": wanted.intake_date, **wanted.milestones}.items()
    )
    record_event(
        session,
        "client.create",
        actor_type="staff",
        actor_id=scope.user_id,
        object_type="client",
        object_id=client.id,
        ip=ip,
        details={
            "site_id": site.id,
            "programme_id": programme.id,
            "counsellor_id": counsellor_id,
            "milestones": sorted(wanted.milestones),
            "identity": bool(given or family),
        },
    )
    return client


def update_client(
    session: DbSession,
    scope: StaffScope,
    client: Client,
    *,
    preferred_language: str,
    counsellor_id: int | None,
    given_name: str,
    family_name: str,
    ip: str | None = None,
) -> list[str]:
    """Change a client's language, counsellor (site leads) and names; returns the fields changed."""
    if preferred_language not in LANGUAGES:
        raise ClientError(N_("Choose English, Dutch or French."))
    changed = []
    if preferred_language != client.preferred_language:
        client.preferred_language = preferred_language
        changed.append("preferred_language")
    if scope.is_site_lead and counsellor_id != client.counsellor_id:
        _check_counsellor(session, scope, counsellor_id, client.site_id)
        client.counsellor_id = counsellor_id
        changed.append("counsellor")
    given, family = _clean_name(given_name), _clean_name(family_name)
    identity = client.identity
    before = (identity.given_name, identity.family_name) if identity else (None, None)
    if before != (given, family):
        if identity is None:
            client.identity = ClientIdentity(given_name=given, family_name=family)
        else:
            identity.given_name, identity.family_name = given, family
        changed.append("name")
    if changed:
        session.flush()
        details: dict[str, object] = {"fields": changed}
        if "counsellor" in changed:
            details["counsellor_id"] = counsellor_id
        record_event(
            session,
            "client.update",
            actor_type="staff",
            actor_id=scope.user_id,
            object_type="client",
            object_id=client.id,
            ip=ip,
            details=details,
        )
    return changed


def change_status(
    session: DbSession,
    scope: StaffScope,
    client: Client,
    new_status: str,
    *,
    reason: str = "",
    ip: str | None = None,
) -> ClientStatusChange:
    """Pause, resume, withdraw, complete, re-open a client; the reason goes to the history, not the audit."""
    allowed = TRANSITIONS.get(client.status, ())
    if new_status not in allowed:
        raise ClientError(N_("That status change is not possible from the client's current status."))
    cleaned = reason.strip()[:NOTE_MAX_LENGTH] or None
    change = ClientStatusChange(
        client_id=client.id,
        from_status=client.status,
        to_status=new_status,
        reason=cleaned,
        changed_by=scope.user_id,
    )
    client.status = new_status
    session.add(change)
    session.flush()
    record_event(
        session,
        "client.status_change",
        actor_type="staff",
        actor_id=scope.user_id,
        object_type="client",
        object_id=client.id,
        ip=ip,
        details={"from": change.from_status, "to": new_status, "reason_given": cleaned is not None},
    )
    return change
