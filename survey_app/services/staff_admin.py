"""Staff administration: the list, invitations, roles and sites, multi-factor resets and deactivation.

An admin acts only on the staff of their own organisation (anyone else is "not found"), and never takes
their own admin role away or deactivates themselves, so an organisation always keeps an admin. Every change
is audited with ids and roles only.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from survey_app.db import DbSession
from survey_app.models.base import utcnow
from survey_app.models.people import ROLES, StaffUser
from survey_app.models.programme import Organisation, Site
from survey_app.services import mfa
from survey_app.services.accounts import (
    NAME_MAX,
    create_staff_user,
    normalise_email,
    revoke_all_staff_sessions,
)
from survey_app.services.audit import record_staff_event
from survey_app.services.invitations import (
    InvitationState,
    IssuedInvitation,
    invitation_states,
    issue_invitation,
    revoke_open_invitations,
)
from survey_app.services.user_messages import N_, UserFacingError

__all__ = [
    "PAGE_SIZE",
    "SITE_ROLES",
    "StaffAdminError",
    "StaffPage",
    "StaffRow",
    "change_access",
    "deactivate_staff",
    "invite_staff",
    "organisation_sites",
    "reactivate_staff",
    "renew_invitation",
    "reset_second_factor",
    "staff_member",
    "staff_page",
]

PAGE_SIZE = 25
MAX_QUERY_LENGTH = 100
#: Roles that work at sites: they need at least one.
SITE_ROLES = ("counsellor", "site_lead")


class StaffAdminError(UserFacingError):
    """A staff change that cannot be made as asked."""


@dataclass(frozen=True)
class StaffRow:
    """One staff member on the list, with where they stand: active, invited, expired link or deactivated."""

    user: StaffUser
    status: str


@dataclass(frozen=True)
class StaffPage:
    """One page of the staff list: the rows, how many match in all, the page and the search."""

    rows: list[StaffRow]
    total: int
    page: int
    pages: int
    query: str


def _status(user: StaffUser, invitation: InvitationState) -> str:
    if not user.is_active:
        return "deactivated"
    return {"waiting": "invited", "expired": "invitation_expired"}.get(invitation, "active")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def staff_page(
    session: DbSession,
    organisation_id: int,
    *,
    query: str = "",
    page: int = 1,
    role_words: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> StaffPage:
    """The organisation's staff by name, a page at a time; ``query`` matches name, email or role.

    A role matches by its code or by the word the reader sees for it (``role_words``: code -> word).
    """
    wanted = " ".join(query.split())[:MAX_QUERY_LENGTH]
    where = [StaffUser.organisation_id == organisation_id]
    if wanted:
        pattern = f"%{_escape_like(wanted.lower())}%"
        roles = {wanted.lower().replace(" ", "_")} | {
            code
            for code, word in (role_words or {}).items()
            if " ".join(word.split()).lower() == wanted.lower()
        }
        where.append(
            or_(
                func.lower(StaffUser.display_name).like(pattern, escape="\\"),
                func.lower(StaffUser.email).like(pattern, escape="\\"),
                StaffUser.role.in_(sorted(roles)),
            )
        )
    total = int(session.scalar(select(func.count()).select_from(StaffUser).where(*where)) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    users = session.scalars(
        select(StaffUser)
        .where(*where)
        .options(selectinload(StaffUser.sites))
        .order_by(func.lower(StaffUser.display_name), StaffUser.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    states = invitation_states(session, [user.id for user in users], now=now)
    rows = [StaffRow(user, _status(user, states[user.id])) for user in users]
    return StaffPage(rows, total, page, pages, wanted)


def staff_member(session: DbSession, organisation_id: int, user_id: int) -> StaffUser | None:
    """A staff member of the organisation (None for anyone else, as for someone who does not exist)."""
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.organisation_id == organisation_id else None


def staff_status(session: DbSession, user: StaffUser) -> str:
    """Where one staff member stands: active, invited, invitation_expired or deactivated."""
    return _status(user, invitation_states(session, [user.id])[user.id])


def organisation_sites(session: DbSession, organisation_id: int) -> Sequence[Site]:
    """The organisation's sites by name."""
    return session.scalars(
        select(Site).where(Site.organisation_id == organisation_id).order_by(Site.name)
    ).all()


def _checked_access(session: DbSession, admin: StaffUser, role: str, site_ids: Collection[int]) -> list[Site]:
    if role not in ROLES:
        raise StaffAdminError(N_("Choose one of the roles listed."), field="role")
    sites = [site for site in organisation_sites(session, admin.organisation_id) if site.id in set(site_ids)]
    if len(sites) != len(set(site_ids)):
        raise StaffAdminError(N_("Choose sites of your own organisation."), field="sites")
    if role in SITE_ROLES and not sites:
        raise StaffAdminError(
            N_("A counsellor or site lead works at one site at least: choose it."), field="sites"
        )
    return sites


def _audit(
    session: DbSession, action: str, admin: StaffUser, user: StaffUser, ip: str | None, **details: object
) -> None:
    record_staff_event(
        session,
        action,
        admin.id,
        "staff_user",
        user.id,
        ip=ip,
        details=dict(details),
    )


def invite_staff(
    session: DbSession,
    admin: StaffUser,
    *,
    email: str,
    display_name: str,
    role: str,
    site_ids: Collection[int],
    ip: str | None = None,
    now: datetime | None = None,
) -> IssuedInvitation:
    """Create an account for a new staff member with a one-time enrolment link (they choose the password)."""
    clean_email = normalise_email(email)
    name = " ".join(display_name.split())
    if "@" not in clean_email.strip("@") or len(clean_email) > 254 or " " in clean_email:
        raise StaffAdminError(N_("Type an email address, such as name@example.org."), field="email")
    existing = session.scalar(select(StaffUser).where(StaffUser.email == clean_email))
    if existing is not None and existing.organisation_id == admin.organisation_id:
        raise StaffAdminError(
            N_(
                "%(name)s has an account already with this email address. Find them in the staff list: if "
                "they have not set a password yet, their page makes a new invitation link."
            ),
            field="email",
            name=existing.display_name,
        )
    if existing is not None:
        raise StaffAdminError(N_("Someone with this email address has an account already."), field="email")
    if not 1 <= len(name) <= NAME_MAX:
        raise StaffAdminError(
            N_("Type the name colleagues know them by (200 characters at most)."), field="display_name"
        )
    sites = _checked_access(session, admin, role, site_ids)
    organisation = session.get(Organisation, admin.organisation_id)
    assert organisation is not None
    user = create_staff_user(
        session,
        organisation=organisation,
        email=clean_email,
        password=secrets.token_urlsafe(32),  # nobody knows it: the link sets the real one
        role=role,
        display_name=name,
        actor_type="staff",
        actor_id=admin.id,
        ip=ip,
    )
    user.sites = sites
    issued = issue_invitation(session, user, created_by=admin, now=now)
    _audit(session, "staff.invite", admin, user, ip, role=role, sites=sorted(site.id for site in sites))
    return issued


def renew_invitation(
    session: DbSession,
    admin: StaffUser,
    user: StaffUser,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> IssuedInvitation:
    """A new enrolment link for someone who has not used theirs yet (the old link stops working)."""
    state = invitation_states(session, [user.id], now=now)[user.id]
    if state in ("none", "accepted"):
        raise StaffAdminError(N_("This person has set a password already: a new link is not needed."))
    if not user.is_active:
        raise StaffAdminError(N_("Reactivate the account first."))
    issued = issue_invitation(session, user, created_by=admin, now=now)
    _audit(session, "staff.invitation_renew", admin, user, ip)
    return issued


def change_access(
    session: DbSession,
    admin: StaffUser,
    user: StaffUser,
    *,
    role: str,
    site_ids: Collection[int],
    ip: str | None = None,
) -> bool:
    """Give a staff member a role and sites; returns False when nothing changed (nothing is audited then)."""
    if user.id == admin.id and role != "admin":
        raise StaffAdminError(
            N_("You cannot take away your own admin role; ask another admin."), field="role"
        )
    sites = _checked_access(session, admin, role, site_ids)
    before = {site.id for site in user.sites}
    after = {site.id for site in sites}
    if role == user.role and before == after:
        return False
    previous_role = user.role
    user.role = role
    user.sites = sites
    session.flush()
    _audit(session, "staff.access_change", admin, user, ip, role_before=previous_role, role=role,
           sites_added=sorted(after - before), sites_removed=sorted(before - after))  # fmt: skip
    return True


def deactivate_staff(
    session: DbSession,
    admin: StaffUser,
    user: StaffUser,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> int:
    """Deactivate an account: its sign-in sessions and unused links end at once; returns sessions ended."""
    if user.id == admin.id:
        raise StaffAdminError(N_("You cannot deactivate your own account; ask another admin."))
    if not user.is_active:
        raise StaffAdminError(N_("This account is deactivated already."))
    now = now or utcnow()
    user.is_active = False
    ended = revoke_all_staff_sessions(session, user, now=now)
    revoke_open_invitations(session, user, now=now)
    _audit(session, "staff.deactivate", admin, user, ip, sessions_ended=ended)
    return ended


def reactivate_staff(session: DbSession, admin: StaffUser, user: StaffUser, *, ip: str | None = None) -> None:
    """Let a deactivated staff member sign in again (with their password and authenticator)."""
    if user.is_active:
        raise StaffAdminError(N_("This account is active already."))
    user.is_active = True
    session.flush()
    _audit(session, "staff.reactivate", admin, user, ip)


def reset_second_factor(
    session: DbSession, admin: StaffUser, user: StaffUser, *, ip: str | None = None
) -> None:
    """Unlink a staff member's authenticator and recovery codes; they link a new one at their next sign-in."""
    if not mfa.is_enrolled(user):
        raise StaffAdminError(
            N_("This person has no authenticator linked; they link one at their next sign-in.")
        )
    mfa.reset_mfa(session, user, actor_type="staff", actor_id=admin.id, ip=ip)
