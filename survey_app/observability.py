"""Structured logs and long-cached, versioned static files.

Logs: one JSON object per line on stderr (what systemd's journal and log shippers expect) when
`LOG_FORMAT=json` (the production default), readable text otherwise. Every request is logged once with its
method, route, status, duration and a request id, never its query string or body: URLs and bodies can carry
one-time codes and answers, and no health value ever reaches a log.

Static files: URLs carry a short hash of the file (`/static/css/app.css?v=1a2b3c4d`), so browsers may cache
them for a year (`STATIC_MAX_AGE_SECONDS`) and still get a changed file at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request

_STANDARD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
request_log = logging.getLogger("survey_app.request")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {key: value for key, value in record.__dict__.items() if key not in _STANDARD_ATTRIBUTES}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """Send the app's logs to stderr as JSON lines or as text (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("survey_app")
    logger.handlers = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


def _start_timer() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)


def _log_request(response: Response) -> Response:
    started = g.get("request_started")
    if started is not None and request.endpoint != "static":
        request_log.info(
            "request",
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    if g.get("request_id"):
        response.headers.setdefault("X-Request-ID", g.request_id)
    return response


def _static_versions(app: Flask) -> Any:
    folder = Path(app.static_folder or "")
    cache: dict[str, str] = {}

    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint != "static" or "filename" not in values or "v" in values:
            return
        filename = values["filename"]
        if filename not in cache or app.debug:
            path = folder / filename
            cache[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:8] if path.is_file() else ""
        if cache[filename]:
            values["v"] = cache[filename]

    return add_version


def register_observability(app: Flask) -> None:
    """Structured request logs, request ids, and versioned static URLs with long cache lifetimes."""
    if not app.testing:
        configure_logging(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start_timer)
    app.after_request(_log_request)
    app.url_defaults(_static_versions(app))
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = int(app.config.get("STATIC_MAX_AGE_SECONDS", 31_536_000))
