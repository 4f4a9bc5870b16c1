"""``/healthz``: is the app up and can it reach its database?"""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from survey_app.db import database_error_reason, deferred_transaction
from survey_app.errors import RETRY_AFTER_SECONDS
from survey_app.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int] | Response:
    """200 ``{"status": "ok", "database": "ok"}`` after ``SELECT 1``; 503 when the database is unreachable."""
    try:
        with deferred_transaction(db.session) as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database unavailable: %s", database_error_reason(exc))
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        response = jsonify({"status": "unavailable", "database": "unavailable"})
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, 503
    return jsonify({"status": "ok", "database": "ok"})
