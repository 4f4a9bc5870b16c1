"""``/healthz``: is the app up, can it reach its database, and is the schema the one the code needs?"""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from survey_app.db import database_error_reason, deferred_transaction
from survey_app.errors import RETRY_AFTER_SECONDS
from survey_app.extensions import db
from survey_app.services.schema_version import schema_state

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int] | Response:
    """200 ``{"status": "ok", "database": "ok", "migrations": "ok"}``; 503 when the database is unreachable,
    or when its schema is behind the code (``migrations: behind`` and the reason)."""
    try:
        with deferred_transaction(db.session) as session:
            session.execute(text("SELECT 1"))
            schema = schema_state(session, current_app.config["MIGRATIONS_DIR"])
    except SQLAlchemyError as exc:
        log.warning("health check: database unavailable: %s", database_error_reason(exc))
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        response = jsonify({"status": "unavailable", "database": "unavailable"})
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, 503
    if schema.state != "ok":
        log.warning("health check: %s", schema.reason)
        body = {
            "status": "unavailable",
            "database": "ok",
            "migrations": schema.state,
            "reason": schema.reason,
        }
        return jsonify(body), 503
    return jsonify({"status": "ok", "database": "ok", "migrations": "ok"})
