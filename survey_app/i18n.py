"""Interface languages (Flask-Babel): English, Dutch and French.

The language of a page is chosen, in order, by the view (`g.language`, for example the language a client
picked on the tablet), then by the `language` kept in the browser session, then by the browser's
Accept-Language header; English otherwise. Questionnaire texts come from the stored questionnaire version
in the same language.

Dates and times are shown, and "today" is taken, in the configured timezone (SURVEY_TIMEZONE, Europe/Brussels
unless configured), whatever the server's own clock zone is.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import Babel, get_locale, get_timezone, gettext

from survey_app.models.base import utcnow
from survey_app.services.caseload import local_today
from survey_app.services.user_messages import InLanguages, UserFacingError, UserMessage

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "nl", "fr")
LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands", "fr": "Français"}
TRANSLATIONS = Path(__file__).with_name("translations")

babel = Babel()


def select_language() -> str:
    """The language of the current request."""
    for candidate in (g.get("language"), session.get("language")):
        if candidate in SUPPORTED_LANGUAGES:
            return str(candidate)
    return request.accept_languages.best_match(SUPPORTED_LANGUAGES) or "en"


def page_language() -> str:
    """The language code for `<html lang>`."""
    return str(get_locale() or "en")


def translated(message: UserMessage) -> str:
    """A service's message in the page's language, with the words and admin texts it names in it too."""
    language = page_language()
    values: dict[str, str | int] = {}
    for name, value in message.values.items():
        if isinstance(value, UserMessage):
            values[name] = translated(value)
        elif isinstance(value, InLanguages):
            values[name] = value.text_in(language)
        else:
            values[name] = value
    return gettext(message.text, **values)


def translated_error(error: UserFacingError) -> str:
    """All of a refusal's messages in the page's language, as one text."""
    return " ".join(translated(message) for message in error.messages)


def timezone() -> dt.tzinfo:
    """The timezone dates and times are shown in (BABEL_DEFAULT_TIMEZONE, set from SURVEY_TIMEZONE)."""
    return get_timezone() or dt.UTC


def today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in that timezone (at `now`, the current moment by default)."""
    return local_today(now or utcnow(), timezone())


def register_i18n(app: Flask) -> None:
    """Bind Flask-Babel with the language selector and expose the language to templates."""
    babel.init_app(app, locale_selector=select_language, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals.update(page_language=page_language, language_names=LANGUAGE_NAMES)
