"""What every client page knows: the session in hand, its questionnaires, the language and display choices."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from flask import abort, g, request, session, url_for

from survey_app.domain.questionnaire import Item, localise
from survey_app.extensions import db
from survey_app.i18n import SUPPORTED_LANGUAGES, page_language
from survey_app.models.assessment import AssessmentSession
from survey_app.models.client_access import ClientModeSession
from survey_app.services.client_forms import answer_label, read_aloud_text
from survey_app.services.client_session import QuestionnaireState, session_states
from survey_app.web.client import bp
from survey_app.web.client.guard import (
    CLIENT_PREFS_KEY,
    client_mode_lookup,
    in_client_mode,
    site_idle_timeout,
)
from survey_app.web.client.messages import date_range_problem

PREFERENCES = ("large", "contrast")


def client_mode_row() -> ClientModeSession:
    """The live client-mode session of this request (set by the blueprint's guard)."""
    row: ClientModeSession = g.client_mode
    return row


def current_assessment() -> AssessmentSession:
    """The one assessment session this browser may touch."""
    return client_mode_row().assessment


def current_states(refresh: bool = False) -> list[QuestionnaireState]:
    """The session's questionnaires with their stored answers (read once per request unless refreshed)."""
    if refresh or "client_states" not in g:
        g.client_states = session_states(db.session, current_assessment())
    states: list[QuestionnaireState] = g.client_states
    return states


def state_or_404(n: int) -> QuestionnaireState:
    """The n-th questionnaire of the session, or 404."""
    states = current_states()
    if not 0 <= n < len(states):
        abort(404)
    return states[n]


def answer_in_language(assessment: AssessmentSession, language: str) -> bool:
    """Record the language an open session's answers are given in (the last one chosen); True if changed."""
    if assessment.status != "open" or assessment.language == language:
        return False
    assessment.language = language
    return True


def preferences(key: str = CLIENT_PREFS_KEY) -> dict[str, bool]:
    """The display choices kept in the browser session under ``key`` (the client's, by default)."""
    stored = session.get(key) or {}
    return {name: bool(stored.get(name)) for name in PREFERENCES}


def save_preferences(key: str = CLIENT_PREFS_KEY) -> None:
    """Keep the display choices a display form posted (``large``, ``contrast``: on or off) under ``key``."""
    prefs = preferences(key)
    for name in PREFERENCES:
        if name in request.form:
            prefs[name] = request.form[name] == "on"
    session[key] = prefs


def safe_client_path(target: str | None) -> str:
    """A same-site path under /client/ (where language and display changes return to), else the start."""
    if target and target.startswith("/client/") and "\\" not in target and "//" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("client.welcome")


def safe_return_path(target: str | None) -> str | None:
    """A same-site staff path to return to after client mode (never a client page), else None."""
    if not target or len(target) > 300 or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or target.startswith(("/client", "/api/")):
        return None
    return target


def client_page_context(
    language: str,
    *,
    prefs: dict[str, bool],
    client_mode: Any,
    languages: Sequence[str],
    actions: dict[str, str],
) -> dict[str, Any]:
    """What every client template reads: texts in ``language``, display choices, the mode and its forms.

    ``languages`` are the ones the language buttons offer; ``actions`` are where the language and display
    buttons post (``language``, ``display``).
    """

    def qt(text: Any) -> str:
        """A questionnaire text in the page language."""
        return localise(text, language)

    def label(item: Item, value: Any) -> str | None:
        """An answer as the client gave it, in the page language."""
        return answer_label(item, value, language)

    return {
        "qt": qt,
        "answer_label": label,
        "read_aloud": lambda item: read_aloud_text(item, language),
        "date_range_problem": date_range_problem,
        "prefs": prefs,
        "client_mode": client_mode,
        "offered_languages": tuple(languages),
        "client_actions": actions,
        "show_controls": True,
        "with_script": True,
    }


def offered_languages() -> tuple[str, ...]:
    """The languages the client's site offers (every language before client mode has started)."""
    lookup = client_mode_lookup() if in_client_mode() else None
    return lookup.settings.languages if lookup is not None else SUPPORTED_LANGUAGES


@bp.context_processor
def client_template_helpers() -> dict[str, Any]:
    """Helpers for client templates: texts in the page language, display choices, the client mode."""
    context = client_page_context(
        page_language(),
        prefs=preferences(),
        client_mode=g.get("client_mode"),
        languages=offered_languages(),
        actions={"language": url_for("client.language"), "display": url_for("client.display")},
    )
    return {**context, "idle_seconds": math.ceil(site_idle_timeout().total_seconds()), "page_title": ""}
