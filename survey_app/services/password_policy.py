"""Staff password rules (OWASP ASVS 5.0 level 2): length only, plus a breached and context-word check.

8 to 64 characters, no composition rules; refused when the password (compared case-insensitively, with
spaces ignored) is on the shipped list of common and breached passwords, or is built on a word from the
context (the email's local part, the app's own name).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

__all__ = [
    "CONTEXT_WORDS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_MESSAGES",
    "RECOMMENDED_PASSWORD_LENGTH",
    "PasswordProblem",
    "common_password_count",
    "is_common_password",
    "password_problem",
    "password_problem_kind",
]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 64
RECOMMENDED_PASSWORD_LENGTH = 15
#: Words a password must not be built on: the app and what it is about.
CONTEXT_WORDS = ("recoveryoutcomes", "surveyapp", "drugcourt", "treatmentcourt", "drugbehandelingskamer")
_LIST_FILE = Path(__file__).with_name("data") / "common-passwords.txt.gz"
_MIN_CONTEXT_WORD = 4


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    with gzip.open(_LIST_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def common_password_count() -> int:
    """How many passwords the shipped list holds."""
    return len(_common_passwords())


def _folded(text: str) -> str:
    return "".join(text.split()).casefold()


def is_common_password(password: str) -> bool:
    """True when the password is on the list of common and breached passwords."""
    return _folded(password) in _common_passwords() or password.casefold() in _common_passwords()


def _context_word_in(password: str, context: Iterable[str]) -> bool:
    folded = _folded(password)
    words = [_folded(word) for word in (*CONTEXT_WORDS, *context)]
    return any(len(word) >= _MIN_CONTEXT_WORD and word in folded for word in words)


#: What can be wrong with a password.
PasswordProblem = Literal["too_short", "too_long", "breached", "context_word"]

PASSWORD_MESSAGES: dict[str, str] = {
    "too_short": f"The password needs at least {MIN_PASSWORD_LENGTH} characters "
    f"({RECOMMENDED_PASSWORD_LENGTH} or more recommended).",
    "too_long": f"The password can have at most {MAX_PASSWORD_LENGTH} characters.",
    "breached": "This password appears in lists of breached passwords; choose another one.",
    "context_word": "The password must not be built on your email address or the name of this service.",
}


def password_problem_kind(password: str, context: Iterable[str] = ()) -> PasswordProblem | None:
    """Which rule ``password`` breaks, or None when it may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    if is_common_password(password):
        return "breached"
    if _context_word_in(password, context):
        return "context_word"
    return None


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """What is wrong with ``password`` (a sentence to show), or None when it may be used."""
    kind = password_problem_kind(password, context)
    return None if kind is None else PASSWORD_MESSAGES[kind]
