"""Marking the messages that services raise for people, so the interface can show them translated.

A service stays free of Flask: it raises an error whose text is an English message marked with `N_` (which
Babel extracts into the catalogues); the view shows `gettext(str(error))`, the message in the page's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TypeAlias

from survey_app.domain.questionnaire import localise


def N_(message: str) -> str:
    """Mark `message` for translation; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class InLanguages:
    """A text an admin keeps in several languages (a timepoint's label), shown in the reader's language."""

    texts: Mapping[str, str]
    english: str

    def __str__(self) -> str:
        return self.english

    def text_in(self, language: str) -> str:
        """The text in ``language``, else in English."""
        return localise(self.texts, language) or self.english


MessageValue: TypeAlias = "str | int | UserMessage | InLanguages"


@dataclass(frozen=True)
class UserMessage:
    """A sentence for a person: an English text marked with `N_`, the values it names, and its form field.

    The view shows `gettext(message.text, **message.values)` next to the field `field` (at the top of the
    form when it is None); a value that is itself a `UserMessage` (a word such as "latest") is translated
    first, and an `InLanguages` value is shown in the page's language.
    """

    text: str
    values: Mapping[str, MessageValue] = dc_field(default_factory=dict)
    field: str | None = None

    def __str__(self) -> str:
        return (
            self.text % {name: _plain(value) for name, value in self.values.items()}
            if self.values
            else self.text
        )


def _plain(value: MessageValue) -> str | int:
    return value if isinstance(value, str | int) else str(value)


class UserFacingError(ValueError):
    """A refusal to show a person, worded as one or more `UserMessage`s."""

    def __init__(self, text: str = "", *, field: str | None = None, messages: Sequence[UserMessage] = (),
                 **values: MessageValue) -> None:  # fmt: skip
        self.messages = list(messages) or [UserMessage(text, values, field)]
        super().__init__("; ".join(str(message) for message in self.messages))


def say(text: str, *, field: str | None = None, **values: MessageValue) -> UserMessage:
    """A `UserMessage`: ``say(N_("%(key)s is listed twice."), field="battery", key="who5")``."""
    return UserMessage(text, values, field)
