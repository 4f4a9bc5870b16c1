"""The counsellor's workspace: dashboard, caseload, clients, their scores and answers, notes and alerts.

Guarded once for the whole blueprint (signed in; counsellors and site leads; admins only reach the alert
settings) and again per object in every view (a client, session or alert outside the staff member's scope is a
404, exactly like one that does not exist).
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from survey_app.extensions import login_manager
from survey_app.services.caseload import WORKSPACE_ROLES

bp = Blueprint("counsellor", __name__, url_prefix="/counsellor")

#: Endpoints an organisation's admin may use (alert routing is an organisation setting).
ADMIN_ENDPOINTS = frozenset(
    {"counsellor.alert_settings", "counsellor.add_alert_recipient", "counsellor.remove_alert_recipient"}
)


@bp.before_request
def guard() -> ResponseReturnValue | None:
    """Sign-in page for visitors; 403 for roles without a workspace (researchers, court liaisons)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role in WORKSPACE_ROLES:
        return None
    if current_user.role == "admin" and request.endpoint in ADMIN_ENDPOINTS:
        return None
    abort(403)


from survey_app.web.counsellor import (  # noqa: E402, F401  (register the routes on bp)
    alert_views,
    client_views,
    dashboard_views,
    move_views,
    record_views,
    wording,
)

# Dates and times as the workspace shows them (kept per request: a client's page shows hundreds).
bp.add_app_template_filter(wording.date, "workspace_date")
bp.add_app_template_filter(wording.moment, "workspace_moment")
