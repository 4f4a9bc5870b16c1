"""Handing a tablet (or a phone) to a client: who may, which timepoint, and the client-mode session.

A counsellor, site lead or admin who may see a client starts (or resumes) the session for a timepoint and
hands the browser over. The browser then holds only a random client-mode token; the server keeps its SHA-256
in ``client_mode_sessions`` and decides on every request whether the mode is active, locked (idle on a
tablet: a counsellor's password unlocks it) or ended (left, submitted, idle on the client's own phone, or
older than ``MAX_CLIENT_MODE_AGE``). The counsellor's own sign-in session is parked at the hand-over and
resumed when they leave client mode with their password, still counted from its real sign-in and idle
since the counsellor's own last action (see ``parked_staff_session``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Literal

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import contains_eager

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession, SessionQuestionnaire
from survey_app.models.base import utcnow
from survey_app.models.client_access import ClientModeSession
from survey_app.models.people import Client, StaffSession, StaffUser
from survey_app.models.programme import Site, Timepoint
from survey_app.services.assessments import AssessmentError, live_session, start_session
from survey_app.services.audit import record_event
from survey_app.services.user_messages import UserFacingError

__all__ = [
    "HAND_OVER_ROLES",
    "MAX_CLIENT_MODE_AGE",
    "ClientModeLookup",
    "HandOverError",
    "SiteClientSettings",
    "choose_timepoint",
    "device_key",
    "end_client_mode",
    "load_client_mode",
    "lock_client_mode",
    "may_hand_over",
    "note_staff_activity",
    "open_client_mode",
    "parked_staff_session",
    "rotate_client_mode_token",
    "start_or_resume",
]

#: Who may hand a client's questionnaires over: the staff who see the client's record (admins see no client
#: data, and client mode shows the answers given so far).
HAND_OVER_ROLES = ("counsellor", "site_lead")
#: A client-mode session ends this long after the hand-over, whatever happens.
MAX_CLIENT_MODE_AGE = timedelta(hours=12)
#: last_seen_at is written at most this often (or a quarter of the idle timeout, when that is shorter).
LAST_SEEN_RESOLUTION = timedelta(seconds=30)

ClientModeState = Literal["active", "locked", "ended"]


class HandOverError(ValueError):
    """The session cannot be handed over as asked; ``code`` says why (the view words it).

    ``reason`` is the refusal of a session that could not start, worded for the counsellor.
    """

    def __init__(self, code: str, reason: UserFacingError | None = None) -> None:
        super().__init__(str(reason) if reason else code)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class SiteClientSettings:
    """What the client's site decides for client mode: the languages offered and the idle timeout."""

    languages: tuple[str, ...]
    idle_timeout: timedelta


#: What a lookup must write to a client-mode session: end it, lock it, or note that it was just seen.
ClientModeWrite = Literal["expire", "lock", "touch"]


@dataclass(frozen=True)
class ClientModeLookup:
    """A client-mode session and its state now.

    ``changed`` when the lookup wrote to it (commit it); ``write_due`` when a lookup told not to write found
    a write to make (look it up again with writes, in a write transaction).
    """

    row: ClientModeSession
    state: ClientModeState
    changed: bool
    settings: SiteClientSettings
    write_due: bool = False


def device_key(secret_key: str, public_id: str) -> str:
    """The AES key a tablet seals a session's unsent answers with when it locks offline (base64url, 256 bits).

    It is derived from the app's secret and the session, never stored: a page of that session carries it, the
    locked screen does not, so answers kept on a locked tablet can be read only once it is unlocked.
    """
    message = b"client-device-key\0" + public_id.encode("ascii")
    digest = hmac.new(secret_key.encode("utf-8"), message, "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def may_hand_over(user: StaffUser, client: Client) -> bool:
    """The client's counsellor, or a site lead of the client's site."""
    if not user.is_active or user.role not in HAND_OVER_ROLES:
        return False
    if client.site.organisation_id != user.organisation_id:
        return False
    if user.role == "counsellor":
        return client.counsellor_id == user.id
    return any(site.id == client.site_id for site in user.sites)


def choose_timepoint(session: DbSession, client: Client, timepoint_id: int | None) -> Timepoint:
    """The timepoint asked for (it must be in the client's programme), else the earliest not yet submitted."""
    if timepoint_id is not None:
        timepoint = session.get(Timepoint, timepoint_id)
        if timepoint is None or timepoint.programme_id != client.programme_id:
            raise HandOverError("unknown_timepoint")
        return timepoint
    submitted = select(AssessmentSession.timepoint_id).where(
        AssessmentSession.client_id == client.id,
        AssessmentSession.status == "submitted",
        AssessmentSession.timepoint_id.is_not(None),
    )
    timepoint = session.scalar(
        select(Timepoint)
        .where(Timepoint.programme_id == client.programme_id, Timepoint.id.not_in(submitted))
        .order_by(Timepoint.position)
        .limit(1)
    )
    if timepoint is None:
        raise HandOverError("nothing_due")
    return timepoint


def start_or_resume(
    session: DbSession,
    client: Client,
    timepoint: Timepoint,
    *,
    mode: str,
    staff: StaffUser,
    leave_out: Collection[str] = (),
) -> AssessmentSession:
    """The client's open session at the timepoint, or a new one with the timepoint's battery."""
    live = live_session(session, client, timepoint)
    if live is not None:
        if live.status == "submitted":
            raise HandOverError("already_submitted")
        return live
    try:
        return start_session(session, client, timepoint, mode=mode, created_by=staff.id, leave_out=leave_out)
    except AssessmentError as error:
        raise HandOverError("cannot_start", error) from None


def open_client_mode(
    session: DbSession,
    assessment: AssessmentSession,
    *,
    via: Literal["tablet", "code"],
    staff: StaffUser | None = None,
    staff_session: StaffSession | None = None,
    return_path: str | None = None,
    ip: str | None = None,
) -> tuple[str, ClientModeSession]:
    """Start client mode for a session; returns the token for the browser's cookie and the row."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    if staff_session is not None:
        staff_session.last_seen_at = now  # handing the tablet over is the counsellor's activity
    row = ClientModeSession(
        token_hash=_token_hash(token),
        assessment_session_id=assessment.id,
        started_by=staff.id if staff else None,
        staff_session_id=staff_session.id if staff_session else None,
        via=via,
        return_path=return_path,
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "client_mode.start",
        actor_type="staff" if staff else "client",
        actor_id=staff.id if staff else None,
        object_type="assessment_session",
        object_id=assessment.public_id,
        ip=ip,
        details={"client_id": assessment.client_id, "via": via, "client_mode_id": row.id},
    )
    return token, row


@cache
def _lookup_statement() -> Select[ClientModeSession, str, int | None]:
    """The client-mode session of a token hash, with its site's settings, built once (it runs every request).

    Every page of client mode reads the session and its questionnaire versions: they come in the same query.
    """
    return (
        select(ClientModeSession, Site.languages, Site.client_idle_minutes)
        .join(AssessmentSession, AssessmentSession.id == ClientModeSession.assessment_session_id)
        .join(Client, Client.id == AssessmentSession.client_id)
        .join(Site, Site.id == Client.site_id)
        .where(ClientModeSession.token_hash == bindparam("token_hash"))
        .options(
            contains_eager(ClientModeSession.assessment)
            .joinedload(AssessmentSession.questionnaires)
            .joinedload(SessionQuestionnaire.questionnaire_version)
        )
    )


def load_client_mode(
    session: DbSession,
    token: str,
    *,
    idle_timeout: timedelta,
    now: datetime | None = None,
    write: bool = True,
) -> ClientModeLookup | None:
    """The client-mode session of a browser's token, locked or ended when it has been idle too long.

    ``idle_timeout`` applies unless the client's site sets its own (``sites.client_idle_minutes``). With
    ``write=False`` nothing is written: a due lock, end or last-seen is only reported (``write_due``).
    """
    if not token or len(token) > 128 or not token.isascii():
        return None
    found = session.execute(_lookup_statement(), {"token_hash": _token_hash(token)}).unique().first()
    if found is None:
        return None
    row, languages, minutes = found
    settings = SiteClientSettings(
        tuple(code for code in languages.split(",") if code),
        timedelta(minutes=minutes) if minutes else idle_timeout,
    )
    now = now or utcnow()
    state, due = _client_mode_state(row, settings.idle_timeout, now)
    if due is None:
        return ClientModeLookup(row, state, False, settings)
    if not write:
        return ClientModeLookup(row, state, False, settings, write_due=True)
    _write_client_mode(session, row, due, now)
    return ClientModeLookup(row, state, True, settings)


def _client_mode_state(
    row: ClientModeSession, idle_timeout: timedelta, now: datetime
) -> tuple[ClientModeState, ClientModeWrite | None]:
    """Whether the mode is active, locked or ended now, and what deciding it must write to the row."""
    if row.ended_at is not None:
        return "ended", None
    if now - row.created_at > MAX_CLIENT_MODE_AGE:
        return "ended", "expire"
    if row.locked_at is not None:
        return "locked", None
    if now - row.last_seen_at > idle_timeout:
        if row.via == "code":  # nobody can unlock a phone: it ends, the answers are kept
            return "ended", "expire"
        return "locked", "lock"
    if now - row.last_seen_at >= min(LAST_SEEN_RESOLUTION, idle_timeout / 4):
        return "active", "touch"
    return "active", None


def _write_client_mode(
    session: DbSession, row: ClientModeSession, due: ClientModeWrite, now: datetime
) -> None:
    if due == "expire":
        end_client_mode(session, row, "expired", now=now)
    elif due == "lock":
        lock_client_mode(session, row, reason="idle", now=now)
    else:
        row.last_seen_at = now
        session.flush()


def lock_client_mode(
    session: DbSession, row: ClientModeSession, *, reason: str, now: datetime | None = None
) -> None:
    """Lock the screen: the answers are hidden until a counsellor unlocks it or leaves client mode."""
    row.locked_at = now or utcnow()
    session.flush()
    record_event(
        session,
        "client_mode.lock",
        actor_type="system" if reason == "idle" else "client",
        object_type="client_mode_session",
        object_id=row.id,
        details={"reason": reason},
    )


def end_client_mode(
    session: DbSession,
    row: ClientModeSession,
    reason: str,
    *,
    now: datetime | None = None,
    ip: str | None = None,
    actor_id: int | None = None,
) -> None:
    """End client mode for good (the token is worthless afterwards).

    ``ip``: where the request came from; ``actor_id``: the staff member who ended it from elsewhere (by moving
    the client to another site), when it is not the one who handed the device over.
    """
    if row.ended_at is not None:
        return
    row.ended_at, row.end_reason = now or utcnow(), reason
    session.flush()
    by_staff = reason == "left" or actor_id is not None
    record_event(
        session,
        "client_mode.end",
        actor_type="staff" if by_staff else "system",
        actor_id=actor_id or (row.started_by if reason == "left" else None),
        object_type="client_mode_session",
        object_id=row.id,
        ip=ip,
        details={"reason": reason},
    )


def rotate_client_mode_token(session: DbSession, row: ClientModeSession, *, ip: str | None = None) -> str:
    """Unlock with a new token (a new session id at every hand-over back to the client)."""
    token = secrets.token_urlsafe(32)
    row.token_hash = _token_hash(token)
    row.locked_at = None
    row.last_seen_at = utcnow()
    session.flush()
    record_event(
        session,
        "client_mode.unlock",
        actor_type="staff",
        actor_id=row.started_by,
        object_type="client_mode_session",
        object_id=row.id,
        ip=ip,
    )
    return token


def parked_staff_session(
    session: DbSession,
    row: ClientModeSession,
    *,
    idle_timeout: timedelta,
    absolute_timeout: timedelta,
    now: datetime | None = None,
) -> StaffSession | None:
    """The counsellor's sign-in session parked at the hand-over, while it may still be resumed.

    The staff limits hold for it as for any sign-in session: not revoked, less than ``absolute_timeout``
    since the sign-in, and less than ``idle_timeout`` since the counsellor was last active. Their own
    activity counts (the hand-over, and each time their password unlocks the tablet or opens the leaving
    page: ``note_staff_activity``); the client's use of the tablet does not. Past either limit, leaving
    client mode asks for a full sign-in with the second factor.
    """
    if row.staff_session_id is None:
        return None
    parked = session.get(StaffSession, row.staff_session_id)
    now = now or utcnow()
    if parked is None or parked.revoked_at is not None:
        return None
    if now - parked.created_at > absolute_timeout or now - parked.last_seen_at > idle_timeout:
        return None
    return parked


def note_staff_activity(
    session: DbSession,
    row: ClientModeSession,
    *,
    idle_timeout: timedelta,
    absolute_timeout: timedelta,
    now: datetime | None = None,
) -> None:
    """The counsellor acted on the tablet (their password was right): their parked session was in use.

    A parked session already past its limits stays ended: activity never brings one back.
    """
    now = now or utcnow()
    parked = parked_staff_session(
        session, row, idle_timeout=idle_timeout, absolute_timeout=absolute_timeout, now=now
    )
    if parked is not None:
        parked.last_seen_at = now
        session.flush()
