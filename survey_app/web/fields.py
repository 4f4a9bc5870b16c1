"""Form fields shared by the staff pages."""

from __future__ import annotations

from typing import Any

from wtforms import TextAreaField


class TypedTextAreaField(TextAreaField):
    """A textarea's text with its line breaks as typed.

    A browser sends each line break as CR LF but counts it as one character against `maxlength`. Kept as one
    here, a text the browser let through passes the same length check on the server, and is stored as typed.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the text as sent, then keep one character for each line break."""
        super().process_formdata(valuelist)
        text = getattr(self, "data", None)
        if isinstance(text, str):
            self.data = text.replace("\r\n", "\n")
