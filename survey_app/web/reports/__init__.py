"""PDF reports on the web: a client's reports (counsellor report, the client's own report with a preview,
filled-form records), report batches with their progress, and the organisation's report settings.

Guarded once for the blueprint (signed in; counsellors and site leads; admins only reach the report settings)
and again per object: a client the staff member may not see is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue

from survey_app.extensions import login_manager
from survey_app.web.access import CLIENT_DATA_ROLES, signed_in_staff

bp = Blueprint("reports", __name__, url_prefix="/reports")

#: Endpoints an organisation's admin may use (the report settings are an organisation setting).
ADMIN_ENDPOINTS = frozenset({"reports.settings"})


@bp.before_request
def guard() -> ResponseReturnValue | None:
    """Sign-in page for visitors; 403 for roles without client reports (admins: settings only)."""
    user = signed_in_staff()
    if user is None:
        response: ResponseReturnValue = login_manager.unauthorized()
        return response
    if user.role in CLIENT_DATA_ROLES:
        return None
    if user.role == "admin" and request.endpoint in ADMIN_ENDPOINTS:
        return None
    abort(403)


from survey_app.web.reports import batch_views, views  # noqa: E402, F401  (register the routes on bp)
