"""Variables shared by the layouts: who, where, when and how a session was answered, and answer values.

Dates are days since the client's intake unless the project may export calendar dates; identifiers (the
client's code, names, date of birth, national number) only where an admin allowed them for the project.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Subquery

from survey_app.domain.questionnaire import Item, ItemType, Questionnaire, localise
from survey_app.exports.table import DATE, NOT_ASKED, TEXT, Variable
from survey_app.models.assessment import SESSION_MODES, AssessmentSession
from survey_app.models.people import Client, ClientIdentity
from survey_app.models.research import ExportProject
from survey_app.services.exports.projects import ExportError

YES_NO = {0: "No", 1: "Yes"}
#: Name, label and width of each identifier column (width 0: a calendar date).
IDENTIFIER_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("client_code", "Client code in the app (identifies the client: allowed by an admin)", 32),
    ("given_name", "Given name (allowed by an admin)", 400),
    ("family_name", "Family name (allowed by an admin)", 400),
    ("date_of_birth", "Date of birth (allowed by an admin)", 0),
    ("national_number", "National number (allowed by an admin)", 32),
)


def text(name: str, label: str, width: int, **details: Any) -> Variable:
    """A text variable."""
    return Variable(name, label, TEXT, width=width, measure="nominal", details=details)


def key_text(name: str, label: str, width: int, **details: Any) -> Variable:
    """A text variable whose values are keys (a lower-case letter first): they never start a formula."""
    return Variable(name, label, TEXT, width=width, measure="nominal", formula_safe=True, details=details)


def calendar_date(name: str, label: str, **details: Any) -> Variable:
    """A calendar date variable (only where an admin allowed calendar dates or identifiers)."""
    return Variable(name, label, DATE, details=details)


def whole(name: str, label: str, *, measure: str = "scale", **details: Any) -> Variable:
    """A whole-number variable."""
    return Variable(name, label, integer=True, measure=measure, details=details)


def pseudonym_variable() -> Variable:
    """The client's pseudonym in this project."""
    return key_text(
        "pseudonym",
        "Client pseudonym (HMAC-SHA256 of the client id with the project secret)",
        32,
        note="Stable within this project, unrelated across projects; never a bare hash.",
    )


def identifier_variables(project: ExportProject) -> list[Variable]:
    """Direct identifiers: only when an admin allowed them for the project."""
    if not project.allow_identifiers:
        return []
    return [
        text(name, label, width, allowance="identifiers")
        if width
        else calendar_date(name, label, allowance="identifiers")
        for name, label, width in IDENTIFIER_COLUMNS
    ]


def identifier_columns(project: ExportProject) -> list[Any]:
    """The SELECT columns for `identifier_variables` (ClientIdentity is outer-joined by the caller)."""
    if not project.allow_identifiers:
        return []
    return [
        Client.code,
        ClientIdentity.given_name,
        ClientIdentity.family_name,
        ClientIdentity.date_of_birth,
        ClientIdentity.national_number,
    ]


def session_variables(project: ExportProject) -> list[Variable]:
    """Where and when a session was answered, and how."""
    variables = [
        text("site", "Site code where the session was taken", 32),
        key_text("programme", "Programme key", 40),
        key_text("timepoint", "Timepoint key (empty for a session outside the schedule)", 40),
        whole("session", "Session number of this client (1 = first submitted session)", measure="ordinal"),
        whole("days_since_intake", "Days from the client's intake to the submission of the session"),
    ]
    if project.allow_calendar_dates:
        variables += [
            calendar_date("submitted_on", "Date the session was submitted (allowed by an admin)"),
            calendar_date("intake_date", "Client's intake date (allowed by an admin)"),
        ]
    return variables


def administration_variables() -> list[Variable]:
    """Language and mode of administration."""
    return [
        key_text("language", "Language the questionnaires were answered in", 2),
        key_text("mode", f"Mode of administration ({', '.join(SESSION_MODES)})", 20),
    ]


def session_numbers() -> Subquery:
    """Submitted sessions numbered per client in order of submission (stable whatever the filters)."""
    number = func.row_number().over(
        partition_by=AssessmentSession.client_id,
        order_by=(AssessmentSession.submitted_at, AssessmentSession.id),
    )
    return (
        select(AssessmentSession.id.label("session_id"), number.label("number"))
        .where(AssessmentSession.status == "submitted")
        .subquery("numbered")
    )


@dataclass(frozen=True)
class SessionFacts:
    """The per-session values every row of the session repeats."""

    values: tuple[Any, ...]
    intake: dt.date


def session_facts(
    project: ExportProject, pseudonym: Callable[[int], str], timezone: dt.tzinfo
) -> Callable[..., SessionFacts]:
    """A function (client id, intake, site, programme, timepoint, number, submitted_at, ids...) -> facts.

    The submission date is the day in `timezone`, the programme's, as the pages give it.
    """
    calendar = project.allow_calendar_dates

    def facts(
        client_id: int,
        intake: dt.date,
        site: str,
        programme: str,
        timepoint: str | None,
        number: int,
        submitted_at: dt.datetime,
        *identifiers: Any,
    ) -> SessionFacts:
        submitted = submitted_at.astimezone(timezone).date()
        values: tuple[Any, ...] = (
            pseudonym(client_id),
            *identifiers,
            site,
            programme,
            timepoint,
            number,
            (submitted - intake).days,
        )
        if calendar:
            values += (submitted, intake)
        return SessionFacts(values, intake)

    return facts


@dataclass(frozen=True)
class AnswerValue:
    """An answer as exported: a number, a text, a calendar date (where allowed), and whether it is a declared
    'rather not say' code."""

    number: float | int | None
    text: str | None
    declined: int
    date: dt.date | None = None


def decode_raw(raw: str | None) -> Any:
    """The stored JSON value of an answer from its text (integers fast)."""
    if raw is None:
        return None
    if raw.isdigit() or (raw[:1] == "-" and raw[1:].isdigit()):
        return int(raw)
    return json.loads(raw)


def answer_value(item: Item, raw: Any, intake: dt.date, calendar_dates: bool) -> AnswerValue:
    """Convert a stored answer: lists as `1;3`, dates as days since intake (and the date where allowed)."""
    if isinstance(raw, list):
        return AnswerValue(None, ";".join(str(code) for code in raw), 0)
    if item.type is ItemType.DATE and isinstance(raw, str):
        day = dt.date.fromisoformat(raw)
        return AnswerValue((day - intake).days, None, 0, day if calendar_dates else None)
    if isinstance(raw, str):
        return AnswerValue(None, raw, 0)
    if isinstance(raw, bool):
        raw = int(raw)
    declined = 1 if isinstance(raw, int) and raw in item.missing_codes else 0
    return AnswerValue(raw, None, declined)


def check_not_asked_code(questionnaires: Iterable[Questionnaire]) -> None:
    """ExportError when an item in scope accepts NOT_ASKED as an answer: the code would mean two things."""
    for questionnaire in questionnaires:
        for item in questionnaire.items:
            low, high = item.minimum, item.maximum
            in_range = (
                item.type.is_number and low is not None and high is not None and low <= NOT_ASKED <= high
            )
            if NOT_ASKED in item.codes or in_range:
                raise ExportError(
                    f"Item {item.id} of {questionnaire.label} accepts {NOT_ASKED}, the code exports give an "
                    "item the skip rules did not ask, so its answers cannot be exported. Export the scores "
                    "layout or leave the questionnaire out, and tell an administrator.",
                    "not_asked_code",
                )


def option_labels(item: Item, language: str) -> dict[int, str]:
    """Value labels of an item's options (including declared missing codes) in `language`."""
    return {option.code: localise(option.label, language) for option in item.options}


def multiple_choice_width(item: Item) -> int:
    """Bytes the longest `1;3;...` rendering of a multiple-choice answer can take."""
    return max(1, sum(len(str(option.code)) + 1 for option in item.options))


def value_text_width(questionnaires: Mapping[int, Questionnaire], project: ExportProject) -> int:
    """Width of the `value_text` column: lists of codes and (if allowed) free text."""
    width = 1
    for questionnaire in questionnaires.values():
        for item in questionnaire.items:
            if item.type is ItemType.MULTIPLE_CHOICE:
                width = max(width, multiple_choice_width(item))
            elif item.type is ItemType.TEXT and project.allow_free_text:
                width = max(width, item.max_length * 4)
    return min(width, 32767)
