"""The workspace's words: labels of states, statuses, domains and changes, translated at request time.

Label tables and formatted numbers and dates are kept for the rest of the request: a client's page shows
hundreds of them, and Flask-Babel looks the locale up again on every call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import wraps
from typing import TypeVar

from babel.dates import format_date as babel_format_date
from babel.numbers import format_decimal as babel_format_decimal
from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from survey_app.domain.questionnaire import localise
from survey_app.domain.scoring import NotScored
from survey_app.i18n import timezone
from survey_app.models.people import Client
from survey_app.reports.charts import ChartLabels
from survey_app.reports.wording import change_sentence
from survey_app.services.clients import CLIENT_STATUS_WORDS
from survey_app.services.outcome_summary import ChartTexts, value_text
from survey_app.services.schedules import ANCHOR_NAMES
from survey_app.services.trends import ScaleTrend, ScorePoint

T = TypeVar("T")


def per_request(function: Callable[[], T]) -> Callable[[], T]:
    """Compute a label table once per request."""
    key = f"workspace_words_{function.__name__}"

    @wraps(function)
    def cached() -> T:
        if key not in g:
            setattr(g, key, function())
        value: T = getattr(g, key)
        return value

    return cached


@per_request
def state_labels() -> dict[str, str]:
    """Timepoint states in words."""
    return {
        "upcoming": _("Upcoming"),
        "due": _("Due"),
        "overdue": _("Overdue"),
        "open": _("Started, not submitted"),
        "completed": _("Completed"),
        "missed": _("Missed"),
        "unscheduled": _("No anchor date yet"),
        "on_hold": _("On hold (client paused)"),
        "closed": _("Not expected (client left the programme)"),
    }


@per_request
def status_labels() -> dict[str, str]:
    """Client statuses in words."""
    return {status: _(words) for status, words in CLIENT_STATUS_WORDS.items()}


@per_request
def status_actions() -> dict[str, str]:
    """What the button that sets a status says."""
    return {
        "active": _("Resume (set active)"),
        "paused": _("Pause"),
        "withdrawn": _("Withdraw from the programme"),
        "completed": _("Mark the programme completed"),
    }


@per_request
def role_labels() -> dict[str, str]:
    """Staff roles in words."""
    return {
        "counsellor": _("counsellor"),
        "site_lead": _("site lead"),
        "admin": _("admin"),
        "researcher": _("researcher"),
        "court_liaison": _("court liaison"),
    }


@per_request
def anchor_labels() -> dict[str, str]:
    """Anchor dates in words."""
    return {anchor: _(name) for anchor, name in ANCHOR_NAMES.items()}


@per_request
def life_domain_labels() -> dict[str, str]:
    """The recovery life domains of the profile."""
    return {
        "personal": _("Personal life: health, self-esteem and identity"),
        "social": _("Social life: relationships and support"),
        "community": _("Community life: stigma"),
        "recovery_capital": _("Recovery capital"),
    }


@per_request
def severity_labels() -> dict[str, str]:
    """Alert severities in words."""
    return {"urgent": _("Urgent"), "attention": _("Needs attention")}


@per_request
def mode_labels() -> dict[str, str]:
    """How a session was answered."""
    return {
        "tablet": _("tablet"),
        "own_device": _("own device"),
        "interview": _("interview"),
        "paper": _("paper"),
    }


@per_request
def session_status_labels() -> dict[str, str]:
    """Session statuses in words."""
    return {"open": _("started"), "submitted": _("submitted"), "cancelled": _("cancelled")}


@per_request
def consent_purpose_labels() -> dict[str, str]:
    """The purposes a client consents to, in words."""
    return {"care": _("Care"), "court": _("Court progress report"), "research": _("Research")}


@per_request
def court_category_labels() -> dict[str, str]:
    """What a court progress report holds, in words."""
    return {"attendance": _("attendance"), "scores": _("scores"), "summary": _("summary")}


def court_categories(categories: Iterable[str]) -> str:
    """The parts a court progress report holds, in words and in order ("attendance, scores")."""
    labels = court_category_labels()
    return ", ".join(labels.get(category, category) for category in categories)


def _memo(name: str) -> dict[object, str]:
    table: dict[object, str] = g.setdefault(f"workspace_words_{name}", {})
    return table


STATE_SYMBOLS = {
    "upcoming": "\u25cb", "due": "\u25cf", "overdue": "!", "open": "\u2026", "completed": "\u2713",
    "missed": "\u00d7", "unscheduled": "?", "on_hold": "\u2016", "closed": "\u2013",
}  # fmt: skip


def state_badge(state: str) -> Markup:
    """A timepoint state as a symbol and a word (never a colour alone)."""
    return Markup('<span class="state state-{0}"><span aria-hidden="true">{1}</span> {2}</span>').format(
        state, STATE_SYMBOLS.get(state, ""), state_labels()[state]
    )


def status_badge(status: str) -> Markup:
    """A client status, boxed."""
    return Markup('<span class="status status-{0}">{1}</span>').format(status, status_labels()[status])


def severity_badge(severity: str) -> Markup:
    """An alert severity as a symbol and a word."""
    symbol = "\u26a0" if severity == "urgent" else "\u2022"
    return Markup(
        '<span class="severity severity-{0}"><span aria-hidden="true">{1}</span> {2}</span>'
    ).format(severity, symbol, severity_labels()[severity])


def client_name(client: Client) -> str:
    """The client's name when one was recorded, else an empty string."""
    identity = client.identity
    if identity is None:
        return ""
    return " ".join(part for part in (identity.given_name, identity.family_name) if part)


def number(value: Decimal) -> str:
    """A rounded score in the page's locale."""
    table = _memo("numbers")
    if value not in table:
        table[value] = babel_format_decimal(value, format="#,##0.##", locale=get_locale())
    return table[value]


def date(day: dt.date | None) -> str:
    """A date in the page's locale (medium length)."""
    if day is None:
        return ""
    table = _memo("dates")
    if day not in table:
        table[day] = babel_format_date(day, "medium", locale=get_locale())
    return table[day]


def moment(when: dt.datetime | None) -> str:
    """A date (in the page's locale) and a 24-hour time, in the page's timezone."""
    if when is None:
        return ""
    local = when.astimezone(timezone())
    return f"{date(local.date())} {local:%H:%M}"


def score_text(value: float | None, precision: int) -> str:
    """A score as shown (rounded half up at the scale's precision, in the page's locale)."""
    return value_text(value, precision, number)


def chart_texts() -> ChartTexts:
    """Everything a chart says, in the page's language."""
    return ChartTexts(
        labels=ChartLabels(
            version_break=_("version changed: not comparable"),
            missed=_("missed"),
            not_scored=_("completed, not scored"),
            too_many_missing=_("completed, not scored: too many items missing"),
            not_asked=_("completed, not asked because of earlier answers"),
            no_scores=_("No scores yet."),
            scored=_("score"),
            estimated=_("estimated (items missing)"),
            estimated_note=_("estimated from incomplete answers"),
        ),
        higher_is_better=_("higher is better"),
        higher_is_worse=_("higher is worse"),
        cutoff=_("cut-off {value}"),
        date=date,
        number=number,
    )


def change_words(trend: ScaleTrend) -> str:
    """The change from intake to the latest score, in plain words with its reliable-change classification."""
    return change_sentence(trend, get_locale(), number)


def not_scored_words(trend: ScaleTrend, point: ScorePoint) -> str:
    """Why a completed session's scale has no score, as its score table says it."""
    reason = trend.not_scored_reason(point)
    if reason is NotScored.TOO_MANY_MISSING:
        return _("not scored (too many items missing)")
    if reason is NotScored.NOT_ASKED:
        return _("completed, not asked because of earlier answers")
    return _("completed, not scored")


def point_words(trend: ScaleTrend, point: ScorePoint, language: str) -> str:
    """A score with its band name (from the version it was answered on), as in "48 (low well-being)"."""
    shown = score_text(point.value, trend.scale.precision)
    band = localise(trend.band_label(point), language)
    return f"{shown} ({band})" if band else shown
