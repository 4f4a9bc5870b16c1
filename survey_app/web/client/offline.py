"""Offline support: the service worker (served under /client/ so its scope covers the client pages) and the
page it shows when a page cannot be loaded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Response, current_app, render_template, request, url_for
from flask_babel import gettext as _

from survey_app.web.client import bp

#: The files every client page needs: kept by the service worker so a page loads without a connection.
SHELL_ASSETS = (
    "css/app.css",
    "css/client.css",
    "css/client-large.css",
    "css/client-contrast.css",
    "js/client/logic.js",
    "js/client/store.js",
    "js/client/fields.js",
    "js/client/app.js",
)


def _worker_source(static_folder: str) -> str:
    return (Path(static_folder) / "client" / "sw.js").read_text(encoding="utf-8")


def _device() -> str | None:
    """The device a client's page names (``?device=phone``), so the offline page speaks of it."""
    return "phone" if request.args.get("device") == "phone" else None


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, told which versioned files and which offline page (for this device) to keep."""
    assets = [url_for("static", filename=name) for name in SHELL_ASSETS]
    shell = {"offline": url_for("client.offline", device=_device()), "assets": assets}
    shell["version"] = hashlib.sha256(json.dumps(shell, sort_keys=True).encode()).hexdigest()[:16]
    source = _worker_source(current_app.static_folder or "")
    body = f"self.CLIENT_SHELL = {json.dumps(shell)};\n{source}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline() -> Response:
    """What the service worker shows when there is no connection: no data of anyone in it, no database.

    The worker keeps the copy for the device its page registered it from (a phone's page asks for its own).
    """
    response = Response(
        render_template(
            "client/offline.html",
            page_title=_("No connection"),
            client_mode=None,
            show_controls=False,
            on_phone=_device() == "phone",
        )
    )
    response.headers["Cache-Control"] = "no-cache"
    return response
