"""The client's pages (``/client/...``) and the staff hand-over to them (``/client-mode/...``).

``client`` serves a browser in client mode: the questionnaires one screen at a time (plain HTML forms that
work without JavaScript, enhanced by ``static/js/client/``), review, submit, lock and leave, plus the public
code entry and the service worker. ``client_mode`` is for staff: start client mode on this tablet, or give a
one-time code and QR code for the client's phone. Registering ``client`` also confines every browser in
client mode to these pages (see ``guard.confine_client_mode``).
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers import Response

from survey_app.web.client.guard import (
    client_mode_lookup,
    confine_client_mode,
    forget_client_mode,
    in_client_mode,
)

bp = Blueprint("client", __name__, url_prefix="/client")
hand_over_bp = Blueprint("client_mode", __name__, url_prefix="/client-mode")

#: Client pages that need no live client mode.
PUBLIC_ENDPOINTS = frozenset(
    {"client.enter_code", "client.open_link", "client.closed", "client.done", "client.service_worker",
     "client.offline"}
)  # fmt: skip
#: The language and display choices: kept in the browser session, with or without a client mode.
CHOICE_ENDPOINTS = frozenset({"client.display", "client.language"})
#: What a locked screen still allows.
LOCKED_ENDPOINTS = frozenset({"client.locked", "client.unlock", "client.leave"}) | CHOICE_ENDPOINTS


@bp.before_request
def require_client_mode() -> Response | None:
    """Every client page needs a live client-mode session; a locked one shows only the lock screen."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    lookup = client_mode_lookup()
    if request.endpoint in CHOICE_ENDPOINTS:  # the code page and the closing pages offer them too
        if lookup is not None and lookup.state != "ended":
            g.client_mode = lookup.row
        return None
    if lookup is None or lookup.state == "ended":
        reason = lookup.row.end_reason if lookup is not None else None
        if reason == "submitted":  # a phone's late second click on "send": it is sent
            forget_client_mode(sent=True)
            return redirect(url_for("client.done"))
        if in_client_mode():
            forget_client_mode()
        return redirect(url_for("client.closed", why="expired" if reason == "expired" else None))
    if lookup.state == "locked" and request.endpoint not in LOCKED_ENDPOINTS:
        return redirect(url_for("client.locked"))
    g.client_mode = lookup.row
    return None


bp.before_app_request(confine_client_mode)

from survey_app.web.client import codes, handover, mode, offline, pages  # noqa: E402, F401  (routes)
