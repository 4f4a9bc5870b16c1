"""Who may see what: one small set of checks every blueprint uses, on every route and every object.

Roles (``StaffUser.role``) and what they reach of a client's data:

- ``counsellor``: the clients of their own caseload (``client.counsellor_id``).
- ``site_lead``: the clients of the sites they are a member of.
- ``admin``: accounts and settings of their organisation; no client data (least privilege).
- ``researcher``: pseudonymised exports only; never a client page.
- ``court_liaison``: only the court pages, and there only what the client consented to share.

Every check also requires the same organisation and an active account, and leaves erased clients out
(what erasure keeps is for research exports only). Someone else's client answers 404, exactly like a
client that does not exist, so codes cannot be probed.

Use in a view::

    from survey_app.web.access import client_for_staff_or_404, require_roles

    @bp.get("/clients/<code>")
    @require_roles("counsellor", "site_lead")
    def client_page(code):
        client = client_for_staff_or_404(code)      # 404 unless current_user may see it
        record_client_view(client, "client_page")   # audited view of a client's data
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, request
from flask_login import current_user
from sqlalchemy import Select, false, select

from survey_app.extensions import db, login_manager
from survey_app.models.people import Client, StaffSiteMembership, StaffUser
from survey_app.models.programme import Site
from survey_app.services.audit import record_event
from survey_app.services.erased_clients import not_erased

__all__ = [
    "CLIENT_DATA_ROLES",
    "can_view_client",
    "client_for_staff_or_404",
    "record_client_view",
    "require_roles",
    "signed_in_staff",
    "visible_clients",
]

#: Roles that may open a client's record at all (each limited further per object).
CLIENT_DATA_ROLES = ("counsellor", "site_lead")

F = TypeVar("F", bound=Callable[..., Any])


def signed_in_staff() -> StaffUser | None:
    """The signed-in, active staff member, or None."""
    if not current_user.is_authenticated:
        return None
    user = cast(StaffUser, current_user._get_current_object())
    return user if user.is_active else None


def require_roles(*roles: str) -> Callable[[F], F]:
    """Decorator: the sign-in page for anonymous visitors, 403 for a signed-in role not in ``roles``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = signed_in_staff()
            if user is None:
                return login_manager.unauthorized()
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def _site_ids(user: StaffUser) -> Select[int]:
    return select(StaffSiteMembership.site_id).where(StaffSiteMembership.staff_user_id == user.id)


def visible_clients(user: StaffUser) -> Select[Client]:
    """A query of the clients ``user`` may open (empty for roles without client access)."""
    query = (
        select(Client)
        .join(Site, Site.id == Client.site_id)
        .where(Site.organisation_id == user.organisation_id, not_erased())
    )
    if not user.is_active:
        return query.where(false())
    if user.role == "counsellor":
        return query.where(Client.counsellor_id == user.id)
    if user.role == "site_lead":
        return query.where(Client.site_id.in_(_site_ids(user)))
    return query.where(false())


def can_view_client(user: StaffUser | None, client: Client | None) -> bool:
    """True when ``user`` may see ``client``'s record (caseload, or site for a site lead)."""
    if user is None or client is None or not user.is_active or user.role not in CLIENT_DATA_ROLES:
        return False
    query = visible_clients(user).where(Client.id == client.id).with_only_columns(Client.id)
    return db.session.scalar(query) is not None


def client_for_staff_or_404(code: str) -> Client:
    """The client with ``code`` if the signed-in staff member may see it; else 404 (also when missing)."""
    user = signed_in_staff()
    if user is None or len(code) > 32:
        abort(404)
    client = db.session.scalar(visible_clients(user).where(Client.code == code.strip().upper()))
    if client is None:
        abort(404)
    return client


def record_client_view(client: Client, what: str, **details: int | str | bool) -> None:
    """Audit that the signed-in staff member viewed ``client``'s data on page ``what`` (ids only)."""
    user = signed_in_staff()
    record_event(
        db.session,
        "client.view",
        actor_type="staff",
        actor_id=user.id if user else None,
        object_type="client",
        object_id=client.id,
        ip=request.remote_addr,
        details={"page": what, **details},
    )
