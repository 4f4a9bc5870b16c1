"""Driving the malicious-input corpus over every form, file upload, URL parameter, query string and JSON body.

``Fuzzer.discover_forms`` opens every page each principal may open (the access table says which) and reads
its forms; ``Fuzzer.targets`` turns them, the URL parameters of every route, the query string of every
page and the fields of the JSON API into targets; ``Fuzzer.attack`` sends one payload to one target as the
principal who may use it, rolled back afterwards, and returns what went wrong:

- any 5xx;
- a payload that would change a page (markup, quotes) appearing unescaped in an HTML response, or a
  template payload evaluated, on the response itself or, when the input was accepted, on the pages that
  show it;
- a payload refused with a 4xx yet found in the database afterwards; a refused file, yet a draft stored.

A file input gets hostile files as they are (``HostileFile``), hostile questionnaire sources as files, and
every other payload as the English title of an otherwise valid questionnaire file.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from werkzeug.routing import IntegerConverter, Rule
from werkzeug.test import TestResponse

from survey_app.web.rate_limits import rate_limit_storage
from tests.security.form_discovery import Form, forms_on
from tests.security.malicious import (
    HOSTILE_YAML,
    TEMPLATE_PRODUCT,
    HostileFile,
    is_distinctive,
    is_markup,
    questionnaire_titled,
)
from tests.security.matrix_objects import (
    BODIES,
    JSON_BODIES,
    STATE_CHANGING,
    holding,
    objects_for,
    url_values,
)
from tests.security.matrix_table import Row, route_methods
from tests.security.principals import Browser, Principal
from tests.security.world import World

#: Who uses a route, in order of preference (the first the access table lets in).
ORDER = ("couns_a", "lead", "admin", "research", "court_yes", "client", "anon")
#: Routes used in a state of their own, and by whom.
SPECIAL = {
    "auth.second_factor": "pending",
    "auth.enrol": "pending_new",
    "client.unlock": "client_locked",
    "client.locked": "client_locked",
    "client.close": "client_phone",
    "client.finish_leaving": "client_leaving",
}
#: The pages those principals open, besides what the access table lets the others open.
SPECIAL_PAGES = {
    "pending": ("auth.second_factor",),
    "pending_new": ("auth.enrol",),
    "client_locked": ("client.locked",),
    "client_phone": ("client.welcome",),
    "client_leaving": ("client.leaving",),
}
#: Pages that show some forms only for other objects (an invited or a deactivated staff member's page).
OTHER_OBJECTS: dict[str, tuple[Callable[[World], dict[str, Any]], ...]] = {
    "admin.staff_edit": (lambda w: {"user_id": w.invited.id}, lambda w: {"user_id": w.disabled.id}),
}
#: Query parameters the pages read, all given the payload at once on every page.
QUERY_NAMES = ("q", "status", "page", "site", "counsellor", "needs", "lang", "why", "next", "dir")
#: JSON fields of the API: in the first answer, or at the top of the body.
ANSWER_FIELDS = ("questionnaire", "version", "item", "value")
#: Sign-in steps answer a refusal with the same page (200); they redirect when they accept.
REFUSED_WITH_PAGE = {"auth.sign_in", "auth.second_factor", "auth.enrol", "auth.new_recovery_codes"}
DEFAULT_ANSWER = {"questionnaire": "tablet_form", "version": 1, "item": "mood", "value": 2}
NOT_CRAWLED = (".pdf", "/download", "/sw.js", "/static/")
WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
#: What an accepted upload writes: a refused file must write neither.
UPLOAD_TABLES = frozenset({"questionnaire_drafts", "questionnaire_versions"})
DRAFT_PAGE = re.compile(r"^/admin/questionnaires/drafts/\d+$")
#: A string payload, or a file for an upload field.
Payload = str | HostileFile


@dataclass(frozen=True)
class Target:
    """One place an input goes: a form field, a URL parameter, a query parameter or a JSON field."""

    rule: Rule
    method: str
    principal: str
    where: str
    name: str
    form: Form | None = None

    @property
    def endpoint(self) -> str:
        """The route's endpoint."""
        return self.rule.endpoint

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} [{self.where} {self.name}] as {self.principal}"


@dataclass
class Fuzzer:
    """Sends payloads to targets in one world, and judges the answers."""

    app: Flask
    db: SQLAlchemy
    browser: Browser
    world: World
    principals: dict[str, Principal]
    table: dict[tuple[str, str], Row]
    forms: dict[tuple[str, str], tuple[str, Form]] = field(default_factory=dict)
    writes: list[tuple[str, list[str]]] = field(default_factory=list)
    #: The HTML of every report made during one request (see ``keep_report_html``).
    report_html: list[str] = field(default_factory=list)

    def keep_report_html(self, html: str, **options: Any) -> bytes:
        """Stands in for the HTML-to-PDF step: keeps the report's HTML to be judged, skips the layout."""
        self.report_html.append(html)
        return b"%PDF-1.7\n"

    # ------------------------------------------------------------ who, where
    def principal_for(self, endpoint: str, method: str) -> str:
        """The principal who may use a route (the sign-in page for everyone else)."""
        if endpoint in SPECIAL:
            return SPECIAL[endpoint]
        row = self.table.get((endpoint, method))
        return next((name for name in ORDER if row and row.expected(name, 0) == "ok"), "anon")

    def _path(self, rule: Rule, method: str, principal: str, overrides: dict[str, Any] | None = None) -> str:
        values = url_values(objects_for(rule, self.world, self.principals[principal], "own")) | (
            overrides or {}
        )
        return str(self.app.url_map.bind("localhost").build(rule.endpoint, values, method=method))

    def discover_forms(self) -> None:
        """Open every page each principal may open and keep the first copy of each form found."""
        for rule, method in route_methods(self.app):
            if method != "GET" or any(part in rule.rule for part in NOT_CRAWLED):
                continue
            row = self.table.get((rule.endpoint, method))
            allowed = [name for name in ORDER if row and row.expected(name, 0) == "ok"]
            special = [name for name, pages in SPECIAL_PAGES.items() if rule.endpoint in pages]
            variants = [{}, *(other(self.world) for other in OTHER_OBJECTS.get(rule.endpoint, ()))]
            for name, overrides in itertools.product(special + allowed, variants):
                self._read_forms(rule, name, overrides)

    def _read_forms(self, rule: Rule, name: str, overrides: dict[str, Any]) -> None:
        path = self._path(rule, "GET", name, overrides)
        objects = objects_for(rule, self.world, self.principals[name], "own")
        with self.browser.rolled_back():
            response = self.browser.send(holding(self.principals[name], rule, objects), "GET", path)
        if response.mimetype == "text/html":
            for form in forms_on(self.app, response.get_data(as_text=True), path):
                self.forms.setdefault((form.endpoint, form.method), (name, form))
        response.close()

    def targets(self) -> list[Target]:
        """Every form field (and one unexpected field), URL parameter, query parameter and JSON field."""
        found: list[Target] = []
        rules = {rule.endpoint: rule for rule in self.app.url_map.iter_rules()}
        for (endpoint, method), (name, form) in sorted(self.forms.items()):
            for field_name in [*form.fields, "unexpected_field"]:
                found.append(Target(rules[endpoint], method, name, "form", field_name, form))
            found.extend(Target(rules[endpoint], method, name, "file", file, form) for file in form.files)
        for rule, method in route_methods(self.app):
            who = self.principal_for(rule.endpoint, method)
            found.extend(Target(rule, method, who, "url", arg) for arg in sorted(rule.arguments))
            if method == "GET":
                found.append(Target(rule, method, who, "query", ",".join(QUERY_NAMES)))
            if (
                method != "GET"
                and (rule.endpoint, method) not in self.forms
                and rule.endpoint not in JSON_BODIES
            ):
                found.append(Target(rule, method, who, "form", "unexpected_field"))  # posted by a script
            if rule.endpoint in JSON_BODIES:
                for arg in (*ANSWER_FIELDS, "idempotency_key", "raw"):
                    found.append(Target(rule, method, who, "json", arg))
        return found

    # ------------------------------------------------------------ sending
    def _request(self, target: Target, payload: Payload) -> dict[str, Any]:
        if isinstance(payload, HostileFile) or target.where == "file":
            return self._upload(target, upload_of(payload))
        return self._send_text(target, payload)

    def _upload(self, target: Target, upload: HostileFile) -> dict[str, Any]:
        """The form as its page shows it, with ``upload`` in the target's file input."""
        assert target.form is not None
        return {
            "principal": self.principals[target.principal],
            "method": target.method,
            "path": self._path(target.rule, target.method, target.principal),
            "data": dict(target.form.values),
            "files": {target.name: (upload.name, upload.content)},
        }

    def _send_text(self, target: Target, payload: str) -> dict[str, Any]:
        principal = self.principals[target.principal]
        rule, method = target.rule, target.method
        overrides = {}
        if target.where == "url":
            numeric = isinstance(rule._converters[target.name], IntegerConverter)
            overrides[target.name] = int(payload) if numeric else payload
        path = self._path(rule, method, target.principal, overrides)
        objects = objects_for(rule, self.world, principal, "own")
        principal = holding(principal, rule, objects)
        kwargs: dict[str, Any] = {}
        if target.where == "query":
            path += "?" + urlencode(dict.fromkeys(target.name.split(","), payload))
        elif target.where == "json":
            body = JSON_BODIES[target.endpoint](self.world, principal, objects)
            if target.name == "raw":
                kwargs.update(data=payload.encode("utf-8"), content_type="application/json")
            elif target.name in ANSWER_FIELDS:
                answers = body.get("answers") or [DEFAULT_ANSWER]
                kwargs["json"] = {**body, "answers": [{**answers[0], target.name: payload}]}
            else:
                kwargs["json"] = {**body, target.name: payload}
        elif method in STATE_CHANGING:
            base = dict(target.form.values) if target.form else {}
            if target.endpoint in BODIES:
                base |= BODIES[target.endpoint](self.world, principal, objects)
            if target.where == "form":
                base[target.name] = payload
            kwargs["data"] = base
        return {"principal": principal, "method": method, "path": path, **kwargs}

    @contextmanager
    def _capturing_writes(self) -> Iterator[None]:
        with self.app.app_context():
            engine = self.db.engine

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            match = WRITE.match(statement)
            if match:
                self.writes.append((match.group(1), [str(value) for value in _flatten(parameters)]))

        self.writes.clear()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            yield
        finally:
            event.remove(engine, "before_cursor_execute", capture)

    def attack(self, target: Target, payload: Payload) -> list[str]:
        """Send one payload to one target; the problems found (none when all is well)."""
        rate_limit_storage(self.app).reset()
        self.report_html.clear()
        request = self._request(target, payload)
        text = payload.name if isinstance(payload, HostileFile) else payload
        with self.browser.rolled_back():
            with self._capturing_writes():
                try:
                    response = self.browser.send(**request)
                except Exception as error:  # the testing app lets errors through: in production a 500
                    return [f"server error {type(error).__name__}: {str(error)[:120]}"]
            problems = judge(response, text, "the response")
            problems += [
                problem for html in self.report_html for problem in judge_html(html, text, "a report")
            ]
            refused = 400 <= response.status_code < 500 or (
                response.status_code == 200
                and target.endpoint in REFUSED_WITH_PAGE
                and target.method == "POST"
            )
            if refused and target.where == "file":
                problems += [f"refused, yet stored in {t}" for t in sorted(self._written() & UPLOAD_TABLES)]
            marker = payload.marker if isinstance(payload, HostileFile) else payload
            if refused and is_distinctive(marker):
                problems += self._stored(marker)
            elif response.status_code < 400 and _renders_risk(text):
                problems += self._shown(target, request["principal"], response, text)
        return problems

    def _written(self) -> set[str]:
        return {table for table, _values in self.writes}

    def _stored(self, payload: str) -> list[str]:
        tables = {name for name, values in self.writes if any(_contains(value, payload) for value in values)}
        found = []
        for table in sorted(tables):
            rows = self.browser.connection.exec_driver_sql(f'SELECT * FROM "{table}"').all()
            if any(_contains(str(cell), payload) for row in rows for cell in row):
                found.append(f"refused, yet stored in {table}")
        return found

    def _shown(self, target: Target, principal: Principal, response: TestResponse, payload: str) -> list[str]:
        pages = [urlsplit(response.location).path] if response.location else []
        if pages and DRAFT_PAGE.match(pages[0]):  # a new draft: its previews too
            pages += [f"{pages[0]}/frame/{device}/en/0" for device in ("tablet", "phone")]
        pages += show_pages(self.world, target.endpoint)
        problems = []
        for path in dict.fromkeys(pages):
            page = self.browser.send(principal, "GET", path)
            problems += judge(page, payload, path)
        return problems


def show_pages(world: World, endpoint: str) -> list[str]:
    """The pages that show what a route stores."""
    code, session = world.a.client.code, world.a.submitted.public_id
    blueprint = endpoint.partition(".")[0]
    pages = {
        "counsellor": ["/", f"/counsellor/clients/{code}", f"/counsellor/clients/{code}/sessions/{session}"],
        "consent": [f"/consent/clients/{code}"],
        "research": ["/research/", f"/research/projects/{world.home.project.id}"],
        "reports": ["/reports/batches", f"/reports/clients/{code}/client"],
        "client": ["/client/review", "/client/q/0/0"],
        "api": ["/client/review", "/client/q/0/0"],
        "client_mode": ["/client/review", f"/counsellor/clients/{code}"],
    }
    home = world.home
    pages["admin"] = [
        "/admin/questionnaires", "/admin/staff", f"/admin/staff/{home.member.id}", "/admin/sites",
        f"/admin/sites/{home.site.id}", "/admin/programmes", f"/admin/programmes/{home.programme.id}",
    ]  # fmt: skip
    extra = {"counsellor.alert_settings": ["/counsellor/settings/alerts"]}
    return pages.get(blueprint, []) + extra.get(endpoint, [])


def judge(response: TestResponse, payload: str, where: str) -> list[str]:
    """What is wrong with one response to a payload (a server error, markup let through, a template run)."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"{where}: status {response.status_code}")
    if response.mimetype == "text/html":
        problems += judge_html(response.get_data(as_text=True), payload, where)
    response.close()
    return problems


def judge_html(body: str, payload: str, where: str) -> list[str]:
    """Markup let through, or a template payload run, in one HTML document."""
    problems = []
    if is_markup(payload) and payload in body:
        problems.append(f"{where}: the payload appears unescaped")
    if TEMPLATE_PRODUCT in body:
        problems.append(f"{where}: a template payload was evaluated")
    return problems


def upload_of(payload: Payload) -> HostileFile:
    """The file a payload is sent as: itself, a hostile source as a file, else a title in a valid file."""
    if isinstance(payload, HostileFile):
        return payload
    if payload in HOSTILE_YAML:
        return HostileFile("hostile.yaml", payload.encode("utf-8"), payload)
    return HostileFile("upload.yaml", questionnaire_titled(payload).encode("utf-8"), payload)


def _renders_risk(payload: str) -> bool:
    return is_markup(payload) or "{{" in payload or "{%" in payload


def _contains(value: str, payload: str) -> bool:
    return payload in value or json.dumps(payload)[1:-1] in value


def _flatten(parameters: Any) -> Iterator[Any]:
    if isinstance(parameters, dict):
        yield from parameters.values()
    elif isinstance(parameters, list | tuple):
        for value in parameters:
            yield from _flatten(value) if isinstance(value, dict | list | tuple) else (value,)
    else:
        yield parameters
