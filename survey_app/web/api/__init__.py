"""The JSON API (``/api/v1/...``) the client's tablet uses: read a session, autosave answers, submit.

Every request needs a live client mode for the session in the URL (the browser's client-mode cookie);
bodies are limited to ``MAX_BODY_BYTES``; errors are JSON ``{"error", "message", "status", "code"}``, with
the problems of each refused answer where there are any.
"""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from survey_app.web.api.errors import api_error
from survey_app.web.client.guard import client_mode_lookup

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: The largest request body the API reads (a full session's answers fit easily).
MAX_BODY_BYTES = 64 * 1024


@bp.before_request
def limit_body_and_require_client_mode() -> Response | None:
    """Refuse oversized bodies before reading them; only a live client mode reaches the API."""
    request.max_content_length = MAX_BODY_BYTES
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return api_error(413, "too_large", _("Too much was sent at once. Please try again."))
    lookup = client_mode_lookup()
    submitted = lookup is not None and lookup.state == "ended" and lookup.row.end_reason == "submitted"
    if lookup is not None and submitted and request.endpoint == "api.submit":
        g.client_mode = lookup.row  # a retried submit after a phone's client mode ended: it replays
        return None
    if lookup is None or lookup.state == "ended":
        return api_error(401, "closed", _("This page has closed. Your answers are saved."))
    if lookup.state == "locked":
        return api_error(401, "locked", _("The screen is locked. Your answers are saved."))
    g.client_mode = lookup.row
    return None


from survey_app.web.api import sessions  # noqa: E402, F401  (registers the routes on bp)
