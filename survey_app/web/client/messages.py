"""What the client (and the counsellor) reads when something is not right: plain words, what to do next."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from survey_app.domain.answers import validate_answer
from survey_app.domain.questionnaire import Item, ItemType, localise
from survey_app.i18n import page_language
from survey_app.services.access_codes import ATTEMPT_WINDOW


def answer_problem(item: Item, value: Any) -> str | None:
    """Why this answer cannot be kept, in the client's words; None when it is a valid answer."""
    if validate_answer(item, value) is None:
        return None
    if item.type.is_number:
        return _("Please type a whole number from %(low)s to %(high)s.", low=item.minimum, high=item.maximum)
    if item.type is ItemType.MULTIPLE_CHOICE and isinstance(value, list):
        if item.max_choices is not None and len(value) > item.max_choices:
            return _("Please choose at most %(count)s answers.", count=item.max_choices)
        declined = [item.option(code) for code in value if code in item.missing_codes]
        if declined and declined[0] is not None:
            label = localise(declined[0].label, page_language())
            return _('"%(answer)s" cannot be chosen together with other answers.', answer=label)
    if item.type is ItemType.DATE:
        return _date_problem(item, value)
    if item.type is ItemType.TEXT:
        return _("Please keep your answer to at most %(count)s characters.", count=item.max_length)
    return _("Please choose one of the answers shown.")


def _date_problem(item: Item, value: Any) -> str:
    """A date that is not one, or (a real date, refused) outside the dates the question takes."""
    try:
        if not isinstance(value, str) or len(value) != len("YYYY-MM-DD"):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        return _("Please give a date (day, month and year).")
    return date_range_problem(item) or _("Please give a date (day, month and year).")


def date_range_problem(item: Item) -> str | None:
    """The message for a date outside the dates a date question takes; None when it takes any date."""
    first = format_date(date.fromisoformat(item.min_date), "long") if item.min_date else None
    last = format_date(date.fromisoformat(item.max_date), "long") if item.max_date else None
    if first and last:
        return _("Please give a date from %(first)s to %(last)s.", first=first, last=last)
    if first:
        return _("Please give a date on or after %(first)s.", first=first)
    if last:
        return _("Please give a date on or before %(last)s.", last=last)
    return None


def form_value_problem(item: Item, code: str) -> str:
    """The message for a form field that could not be read as an answer."""
    if code == "not_a_number":
        return _("Please type a whole number from %(low)s to %(high)s.", low=item.minimum, high=item.maximum)
    return _("Please choose one of the answers shown.")


def required_problem() -> str:
    """The message for a required question left empty."""
    return _("Please answer this question to go on.")


def code_problem(outcome: str) -> tuple[str, int]:
    """The message and status for a code or link that did not open the questionnaires."""
    minutes = int(ATTEMPT_WINDOW.total_seconds() // 60)
    problems = {
        "wrong": (_("This code is not right. Please check the letters and numbers and try again."), 400),
        "expired": (_("This code has expired. Please ask your counsellor for a new one."), 410),
        "used": (_("This code has already been used. Please ask your counsellor for a new one."), 410),
        "closed": (_("These questionnaires are already finished. Thank you!"), 410),
        "limited": (
            _(
                "Too many tries. Please wait %(minutes)s minutes, or ask your counsellor for help.",
                minutes=minutes,
            ),
            429,
        ),
    }
    return problems.get(outcome, problems["wrong"])


def hand_over_problem(code: str, reason: str = "") -> tuple[str, int]:
    """The message and status for a hand-over the counsellor asked for that cannot happen."""
    problems = {
        "unknown_timepoint": (_("That timepoint is not part of this client's programme."), 404),
        "nothing_due": (
            _("This client has sent the questionnaires of every timepoint: nothing is left to fill in."),
            409,
        ),
        "already_submitted": (
            _("The questionnaires of this timepoint have already been sent; they cannot be filled in again."),
            409,
        ),
    }
    return problems.get(code, (_("The session cannot be started: %(reason)s", reason=reason), 409))


def password_problem(outcome: str, *, minutes: int = 0) -> str:
    """The message when the counsellor's password did not unlock or end client mode."""
    if outcome == "waiting":
        return ngettext(
            "Too many wrong passwords on this device. Please wait %(num)d minute, then the counsellor can "
            "type their password again.",
            "Too many wrong passwords on this device. Please wait %(num)d minutes, then the counsellor can "
            "type their password again.",
            max(minutes, 1),
        )
    if outcome == "locked":
        return _(
            "The counsellor's account is locked after too many wrong sign-ins. Please wait 15 minutes and "
            "try again."
        )
    if outcome == "no_counsellor":
        return _("The counsellor who started client mode can no longer unlock it. Please close this browser.")
    return _("That password is not right. Please try again.")
