"""Input no route can use, refused before any view runs.

- U+0000 (a zero byte) anywhere in the path, the query string, a form, a JSON body or the User-Agent: no
  PostgreSQL text column can store it, so it would otherwise fail deep inside a query. Nobody types it.
- JSON nested deeper than the parser can follow: a 400 like any unreadable JSON, not a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from survey_app.errors import error_response

NUL = "\x00"


class GuardedRequest(Request):
    """Flask's request, whose JSON parsing treats nesting too deep to follow as unreadable JSON."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """As ``Request.get_json``; a body nested too deeply is None when ``silent``, else a 400."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("The JSON body is nested too deeply.") from None


def _strings(value: Any) -> Iterator[str]:
    """Every key and string inside a parsed JSON value (without recursion: the nesting may be deep)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _sent_text() -> Iterator[str]:
    yield request.path
    yield request.user_agent.string
    for source in (request.args, request.form):
        for key, values in source.lists():
            yield key
            yield from values
    if request.is_json and _may_hold_null(request.get_data(cache=True)):
        yield from _strings(request.get_json(silent=True))


def _may_hold_null(body: bytes) -> bool:
    """Whether a JSON body can decode to a zero byte: UTF-8 JSON without zero bytes or ``\\u0000`` cannot.

    (A body in UTF-16 or UTF-32, which the JSON parser also reads, is full of zero bytes: it is walked.)
    """
    return b"\x00" in body or b"\\u0000" in body


def refuse_null_characters() -> Response | None:
    """Before every request: a 400 saying what is wrong when anything sent holds a zero byte."""
    if any(NUL in text for text in _sent_text()):
        message = _(
            "What was sent holds a character that cannot be stored (a zero byte). Remove it, try again."
        )
        return error_response(400, message)
    return None


def register_input_guard(app: Flask) -> None:
    """Use the guarded request class and refuse zero bytes before any view (or database query) runs."""
    app.request_class = GuardedRequest
    app.before_request(refuse_null_characters)
