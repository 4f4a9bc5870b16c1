"""Export projects: who may export, what an admin allowed, and the project's pseudonyms.

The pseudonym of a client in a project is HMAC-SHA256(project secret, client id), shown as its first 32
hexadecimal digits (128 bits). The project secret is HMAC-SHA256(research key, project salt): the research key
lives outside the database (the ``RESEARCH_PSEUDONYM_KEY`` environment variable, else the instance file
``research_key``, made once with mode 0600), the salt in the project's row. The secret is never stored, shown,
exported or audited; pseudonyms are stable within a project and unrelated across projects.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy import delete, select

from survey_app.db import DbSession
from survey_app.models.base import utcnow
from survey_app.models.people import StaffUser
from survey_app.models.research import ExportProject, ExportProjectMember
from survey_app.services.audit import record_event
from survey_app.services.exports.packages import ALLOWANCES, allowances_of, withdraw_after_allowance_change
from survey_app.services.user_messages import N_, MessageValue, UserFacingError, UserMessage

RESEARCH_KEY_ENV = "RESEARCH_PSEUDONYM_KEY"
RESEARCH_KEY_FILE = "research_key"
PSEUDONYM_HEX_DIGITS = 32
MANAGER_ROLES = ("admin",)
EXPORTER_ROLES = ("researcher",)


class ExportError(UserFacingError):
    """An export or project request that cannot be carried out as asked (the message is safe to show).

    ``reason`` is what a failed run keeps of it (one of ``runs.FAILURE_REASONS``), so that its page can say it
    in the reader's language; the message itself goes to the log.
    """

    def __init__(self, message: str, reason: str = "request", **values: MessageValue) -> None:
        super().__init__(messages=[UserMessage(message, values)])
        self.reason = reason


class ExportAccessError(PermissionError):
    """The staff member may not use this project (or this action on it)."""


_KEY_FIX = (
    "An administrator must set it to the research key of this installation (64 or more hexadecimal digits); "
    "then run the export again."
)


def load_research_key(instance_path: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The research key: RESEARCH_PSEUDONYM_KEY (hex, >= 64 digits), else the instance file (made once)."""
    env = os.environ if environ is None else environ
    value = env.get(RESEARCH_KEY_ENV, "").strip()
    if value:
        try:
            key = bytes.fromhex(value)
        except ValueError:
            raise ExportError(f"{RESEARCH_KEY_ENV} is not hexadecimal. {_KEY_FIX}", "research_key") from None
        if len(key) < 32:
            raise ExportError(
                f"{RESEARCH_KEY_ENV} is shorter than 64 hexadecimal digits. {_KEY_FIX}", "research_key"
            )
        return key
    path = instance_path / RESEARCH_KEY_FILE
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        temporary = instance_path / f".{RESEARCH_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def project_secret(research_key: bytes, project: ExportProject) -> bytes:
    """The project's pseudonym secret, derived from the research key and the project's salt."""
    return hmac.new(research_key, f"export-project:{project.secret_salt}".encode(), hashlib.sha256).digest()


def pseudonymiser(secret: bytes) -> Callable[[int], str]:
    """A function client id -> pseudonym (HMAC-SHA256 with the project secret, 32 hex digits), cached."""

    @lru_cache(maxsize=8192)
    def pseudonym(client_id: int) -> str:
        digest = hmac.new(secret, str(client_id).encode("ascii"), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_HEX_DIGITS]

    return pseudonym


def is_member(session: DbSession, project: ExportProject, user: StaffUser) -> bool:
    """True when `user` is one of the project's researchers."""
    found = session.scalar(
        select(ExportProjectMember.project_id).where(
            ExportProjectMember.project_id == project.id, ExportProjectMember.staff_user_id == user.id
        )
    )
    return found is not None


def can_manage(user: StaffUser, project: ExportProject) -> bool:
    """Admins of the project's organisation manage it (members, allowances)."""
    return user.is_active and user.role in MANAGER_ROLES and user.organisation_id == project.organisation_id


def can_export(session: DbSession, user: StaffUser, project: ExportProject) -> bool:
    """Researchers of the project's organisation who are its members run its exports."""
    return (
        user.is_active
        and user.role in EXPORTER_ROLES
        and user.organisation_id == project.organisation_id
        and is_member(session, project, user)
    )


def project_for(session: DbSession, user: StaffUser, project_id: int) -> ExportProject:
    """The project if `user` may see it (a manager or a member); ExportAccessError otherwise."""
    project = session.get(ExportProject, project_id)
    if project is None or not (can_manage(user, project) or can_export(session, user, project)):
        raise ExportAccessError("no such project for this account")
    return project


def visible_projects(session: DbSession, user: StaffUser) -> Sequence[ExportProject]:
    """Projects an admin manages, or a researcher belongs to, by name."""
    query = select(ExportProject).where(ExportProject.organisation_id == user.organisation_id)
    if user.role in EXPORTER_ROLES:
        query = query.join(ExportProjectMember, ExportProjectMember.project_id == ExportProject.id).where(
            ExportProjectMember.staff_user_id == user.id
        )
    elif user.role not in MANAGER_ROLES:
        return []
    return session.scalars(query.order_by(ExportProject.name)).all()


def project_members(session: DbSession, project: ExportProject) -> Sequence[StaffUser]:
    """The project's researchers, by name."""
    return session.scalars(
        select(StaffUser)
        .join(ExportProjectMember, ExportProjectMember.staff_user_id == StaffUser.id)
        .where(ExportProjectMember.project_id == project.id)
        .order_by(StaffUser.display_name)
    ).all()


def _require_manager(user: StaffUser, project: ExportProject) -> None:
    if not can_manage(user, project):
        raise ExportAccessError("only an admin of the project's organisation may change it")


def create_project(
    session: DbSession, admin: StaffUser, name: str, description: str = "", *, ip: str | None = None
) -> ExportProject:
    """Create a project in the admin's organisation (no allowances, no members yet); audited."""
    if admin.role not in MANAGER_ROLES or not admin.is_active:
        raise ExportAccessError("only an admin may create an export project")
    clean = " ".join(name.split())
    if not clean or len(clean) > 200:
        raise ExportError(N_("The project needs a name of 1 to 200 characters."))
    taken = select(ExportProject.id).where(
        ExportProject.organisation_id == admin.organisation_id, ExportProject.name == clean
    )
    if session.scalar(taken) is not None:
        raise ExportError(N_("A project called %(name)s already exists. Choose another name."), name=clean)
    project = ExportProject(
        organisation_id=admin.organisation_id,
        name=clean,
        description=description.strip(),
        created_by=admin.id,
    )
    session.add(project)
    session.flush()
    record_event(
        session,
        "research.project_create",
        actor_type="staff",
        actor_id=admin.id,
        object_type="export_project",
        object_id=project.id,
        ip=ip,
        details={"organisation_id": admin.organisation_id},
    )
    return project


def set_allowances(
    session: DbSession,
    admin: StaffUser,
    project: ExportProject,
    *,
    identifiers: bool,
    free_text: bool,
    calendar_dates: bool,
    ip: str | None = None,
) -> None:
    """Allow (or stop allowing) identifiers, free text and calendar dates in the exports; audited.

    Packages made with an allowance that is withdrawn are removed (see `packages`).
    """
    _require_manager(admin, project)
    before = allowances_of(project)
    project.allow_identifiers = identifiers
    project.allow_free_text = free_text
    project.allow_calendar_dates = calendar_dates
    project.allowances_changed_by = admin.id
    project.allowances_changed_at = utcnow()
    session.flush()
    record_event(
        session,
        "research.allowances_change",
        actor_type="staff",
        actor_id=admin.id,
        object_type="export_project",
        object_id=project.id,
        ip=ip,
        details={"identifiers": identifiers, "free_text": free_text, "calendar_dates": calendar_dates},
    )
    after = allowances_of(project)
    withdrawn = [name for name in ALLOWANCES if before[name] and not after[name]]
    withdraw_after_allowance_change(session, project, withdrawn, actor_id=admin.id)


def add_member(
    session: DbSession, admin: StaffUser, project: ExportProject, email: str, *, ip: str | None = None
) -> StaffUser:
    """Add the researcher with this email (same organisation) to the project; audited."""
    _require_manager(admin, project)
    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or user.organisation_id != project.organisation_id or user.role not in EXPORTER_ROLES:
        raise ExportError(
            N_(
                "There is no researcher with that email in this organisation. Check the address, or ask an "
                "admin to give that person the researcher role."
            )
        )
    if not is_member(session, project, user):
        session.add(ExportProjectMember(project_id=project.id, staff_user_id=user.id, added_by=admin.id))
        session.flush()
        record_event(
            session,
            "research.member_add",
            actor_type="staff",
            actor_id=admin.id,
            object_type="export_project",
            object_id=project.id,
            ip=ip,
            details={"staff_user_id": user.id},
        )
    return user


def remove_member(
    session: DbSession, admin: StaffUser, project: ExportProject, user_id: int, *, ip: str | None = None
) -> None:
    """Take a researcher off the project; audited."""
    _require_manager(admin, project)
    session.execute(
        delete(ExportProjectMember).where(
            ExportProjectMember.project_id == project.id, ExportProjectMember.staff_user_id == user_id
        )
    )
    record_event(
        session,
        "research.member_remove",
        actor_type="staff",
        actor_id=admin.id,
        object_type="export_project",
        object_id=project.id,
        ip=ip,
        details={"staff_user_id": user_id},
    )
