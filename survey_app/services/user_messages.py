"""Marking the messages that services raise for people, so the interface can show them translated.

A service stays free of Flask: it raises an error whose text is an English message marked with `N_` (which
Babel extracts into the catalogues); the view shows `gettext(str(error))`, the message in the page's language.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark `message` for translation; it is translated where it is shown."""
    return message
