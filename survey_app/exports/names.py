"""Variable names valid in SPSS (64 bytes) and Stata (32 characters), shortened deterministically.

A name that is already valid is kept. A longer one keeps its start and ends with `_` and six hexadecimal
digits of the SHA-256 of the full name, so the same column always gets the same short name, in every export.
Names are compared case-insensitively (SPSS ignores case) and a clash takes more digits. The codebook lists
the mapping.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from survey_app.exports.table import Variable

SPSS_MAX = 64
STATA_MAX = 32
_VALID = re.compile(r"^[a-z_][a-z0-9_]*$")
_SPSS_RESERVED = {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"}
_STATA_RESERVED = {
    "_all",
    "_b",
    "byte",
    "_coef",
    "_cons",
    "double",
    "float",
    "if",
    "in",
    "int",
    "long",
    "_n",
    "_pi",
    "_pred",
    "_rc",
    "_skip",
    "strl",
    "using",
    "with",
}


def _clean(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not cleaned or not _VALID.match(cleaned):
        cleaned = f"v_{cleaned}"
    return cleaned


def _is_reserved(name: str, reserved: set[str], stata: bool) -> bool:
    return name in reserved or (stata and re.fullmatch(r"str\d+", name) is not None)


def short_name(name: str, limit: int, digits: int = 6, *, force: bool = False) -> str:
    """`name` cut to `limit` characters: its start, `_` and `digits` hex digits of its SHA-256."""
    if len(name) <= limit and not force:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:digits]
    return f"{name[: limit - digits - 1]}_{digest}"


def format_names(names: Iterable[tuple[str, int]], *, stata: bool) -> dict[str, str]:
    """Map each (column name, length limit) to a unique, valid name within its limit for SPSS or Stata."""
    reserved = _STATA_RESERVED if stata else _SPSS_RESERVED
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for name, limit in names:
        base = _clean(name)
        if _is_reserved(base, reserved, stata):
            base = f"{base}_"
        digits = 6
        candidate = short_name(base, limit, digits)
        while candidate.lower() in taken:
            digits += 2
            candidate = short_name(base, limit, digits, force=True)
        taken.add(candidate.lower())
        mapping[name] = candidate
    return mapping


def spss_names(variables: Sequence[Variable]) -> dict[str, str]:
    """Column name -> SPSS variable name (at most 64 bytes; names here are ASCII)."""
    return format_names(((variable.name, SPSS_MAX) for variable in variables), stata=False)


def stata_names(variables: Sequence[Variable]) -> dict[str, str]:
    """Column name -> Stata variable name (at most 32 characters).

    A labelled variable's name is a little shorter: its value label set is named after it plus a number
    (pyreadstat's naming), and Stata allows 32 characters for that name too.
    """
    labelled = sum(1 for variable in variables if variable.value_labels)
    room = len(str(max(labelled - 1, 0))) if labelled else 0
    return format_names(
        ((variable.name, STATA_MAX - room if variable.value_labels else STATA_MAX) for variable in variables),
        stata=True,
    )
