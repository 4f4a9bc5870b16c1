"""Find the app's forms the way a person meets them: open every page and read the forms on it.

``FormParser`` reads the ``<form>`` elements of a page (fields, their values, select options, file inputs,
buttons with their own ``formaction``); ``Form`` is one of them, with the endpoint its action resolves to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException


@dataclass
class Form:
    """One form: where it goes, how, its fields with a value each, and the choices of each field."""

    action: str
    method: str
    values: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    endpoint: str = ""
    files: list[str] = field(default_factory=list)

    @property
    def fields(self) -> list[str]:
        """The names a person can type in or choose (the CSRF token and file inputs left out)."""
        return [name for name in {**self.choices, **self.values} if name != "csrf_token"]


class FormParser(HTMLParser):
    """Collects every form of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._extra_actions: list[str] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a form, or add a field to the open one."""
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").upper())
            self._extra_actions = []
        elif self._form is not None:
            self._field(tag, a)

    def _field(self, tag: str, a: dict[str, str]) -> None:
        form, name = self._form, a.get("name", "")
        assert form is not None
        if tag == "button" and a.get("formaction"):
            self._extra_actions.append(a["formaction"])
        if not name:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                form.choices.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a or name not in form.values:
                    form.values[name] = a.get("value", "on")
            elif kind == "file":
                form.files.append(name)
            elif kind not in ("submit", "button", "reset", "image"):
                form.values[name] = a.get("value", "")
        elif tag == "select":
            self._select = name
            form.choices.setdefault(name, [])
        elif tag == "option" and self._select:
            form.choices[self._select].append(a.get("value", ""))
            if "selected" in a or self._select not in form.values:
                form.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            form.values[name] = ""

    def handle_data(self, data: str) -> None:
        """Text inside a textarea is its value."""
        if self._form is not None and self._textarea:
            self._form.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        """Close a select, a textarea or the form (one copy per extra button action)."""
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            form = self._form
            for action in self._extra_actions:
                self.forms.append(
                    Form(action, form.method, dict(form.values), form.choices, files=form.files)
                )
            self._form = None


def forms_on(app: Flask, page: str, page_path: str) -> list[Form]:
    """The forms of a page, each with the endpoint its action resolves to (forms leaving the app dropped)."""
    parser = FormParser()
    parser.feed(page)
    adapter = app.url_map.bind("localhost")
    found = []
    for form in parser.forms:
        target = urlsplit(form.action or page_path)
        try:
            endpoint, _ = adapter.match(target.path, method=form.method)
        except HTTPException:
            continue
        form.action, form.endpoint = target.path, endpoint
        found.append(form)
    return found
