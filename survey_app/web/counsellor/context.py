"""Per-request helpers of the workspace views: who is asking, their scope, per-object checks."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from flask import abort, g, request
from flask_login import current_user

from survey_app.extensions import db
from survey_app.models.people import Client, StaffUser
from survey_app.services.audit import record_event
from survey_app.services.caseload import StaffScope, find_client, scope_of


def staff() -> StaffUser:
    """The signed-in staff member (the blueprint guard has checked there is one)."""
    return cast(StaffUser, current_user._get_current_object())


def scope() -> StaffScope:
    """What the signed-in staff member may see (read once per request)."""
    cached: StaffScope | None = g.get("staff_scope")
    if cached is None:
        cached = g.staff_scope = scope_of(db.session, staff())
    return cached


def client_or_404(code: str, *, to_manage: bool = False) -> Client:
    """The client with this code when the staff member may see it; 404 otherwise (also when missing).

    ``to_manage``: the page changes the client's details, dates or status, which only the caseload may
    (someone who sees the client because its alerts reach them gets a 404 there).
    """
    if not code or len(code) > 32:
        abort(404)
    client = find_client(db.session, scope(), code, to_manage=to_manage)
    if client is None:
        abort(404)
    return client


def audit_view(client: Client, page: str, **details: int | str | bool) -> None:
    """Record that the staff member viewed a client's data on `page` (ids only)."""
    record_event(
        db.session,
        "client.view",
        actor_type="staff",
        actor_id=staff().id,
        object_type="client",
        object_id=client.id,
        ip=request.remote_addr,
        details={"page": page, **details},
    )


def local_target(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default` (never an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default
