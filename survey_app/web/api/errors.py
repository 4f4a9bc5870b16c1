"""JSON error bodies of the API: the same shape as the app's generic errors, plus a stable ``code``."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from survey_app.errors import ERROR_TEXTS

_TITLES = {409: "Conflict", 410: "Gone", 422: "Not accepted"}


def api_error(status: int, code: str, message: str, problems: list[dict[str, Any]] | None = None) -> Response:
    """A JSON error: what went wrong in plain words (``message``), and a ``code`` for the page's script."""
    body: dict[str, Any] = {
        "error": _TITLES.get(status) or ERROR_TEXTS.get(status, ERROR_TEXTS[400])[0],
        "message": message,
        "status": status,
        "code": code,
    }
    if problems:
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
