"""Database ids as they arrive in URLs and forms: plain ASCII digits no larger than any key can hold.

A larger number, a sign, a space or a digit of another script ("²", "٣") is not an id; views treat it
like an unknown one (a 404 or a form error), never as a server error.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

#: The largest id a database key holds (SQLite INTEGER, PostgreSQL BIGINT).
LARGEST_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """The id ``value`` spells, or None when it is not one."""
    text = "" if value is None else str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(LARGEST_ID)):
        return None
    number = int(text)
    return number if number <= LARGEST_ID else None


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in URLs: a number larger than any key is a 404 (like an unknown id), not an error."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, LARGEST_ID if max is None else max, signed)
