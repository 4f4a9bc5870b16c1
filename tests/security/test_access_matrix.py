"""The access matrix: every route of ``app.url_map`` x every principal x (own, other's, missing) object.

Expected outcomes are in the reviewed table ``access_matrix.txt``; a route without a row fails the suite
and says which row to add. GET and every state-changing method are sent with a valid CSRF token and a
body that succeeds where access is allowed, so a refusal is about access, never about CSRF or the form.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select
from werkzeug.routing import Rule

from survey_app.models import AuditEvent
from tests.security.matrix_objects import (
    BODIES,
    JSON_BODIES,
    STATE_CHANGING,
    holding,
    nested_other_objects,
    objects_for,
    outcome,
    relations_of,
    url_values,
)
from tests.security.matrix_table import PRINCIPALS, TABLE_PATH, Row, load_table, route_methods
from tests.security.principals import Browser, Principal, client_mode_principal, staff_principal
from tests.security.world import World, build_world, grant_court_consent

#: Publishing a draft writes into the questionnaire folder: each test gets a copy of its own.
pytestmark = pytest.mark.usefixtures("questionnaire_dir")


def make_principal(name: str, db: SQLAlchemy, world: World) -> Principal:
    """The principal of a table column, signed in (or handed the tablet) in ``world``."""
    if name == "anon":
        return Principal(name)
    if name == "client":
        return client_mode_principal(db, world)
    if name == "court_yes":
        grant_court_consent(db, world.a.client)
    users = {
        "couns_a": world.a.counsellor,
        "couns_b": world.b.counsellor,
        "lead": world.site_lead,
        "research": world.researcher,
        "court_yes": world.liaison,
        "court_no": world.liaison,
        "admin": world.admin,
        "disabled": world.disabled,
    }
    return staff_principal(db, name, users[name], home="b" if name == "couns_b" else "a")


def matrix_request(
    app: Flask, world: World, principal: Principal, rule: Rule, method: str, relation: str
) -> tuple[Principal, str, dict[str, Any]]:
    """One request of the matrix: who sends it (holding what the route needs), its path and its body."""
    objects = objects_for(rule, world, principal, relation)
    path = app.url_map.bind("localhost").build(rule.endpoint, url_values(objects), method=method)
    kwargs: dict[str, Any] = {}
    if method in STATE_CHANGING and rule.endpoint in JSON_BODIES:
        kwargs["json"] = JSON_BODIES[rule.endpoint](world, principal, objects)
    elif method in STATE_CHANGING and rule.endpoint in BODIES:
        kwargs["data"] = BODIES[rule.endpoint](world, principal, objects)
    return holding(principal, rule, objects), path, kwargs


def request_once(
    app: Flask, browser: Browser, world: World, principal: Principal, rule: Rule, method: str, relation: str
) -> str:
    """Send one request of the matrix (rolled back afterwards) and name its outcome."""
    sender, path, kwargs = matrix_request(app, world, principal, rule, method, relation)
    with browser.rolled_back():
        response = browser.send(sender, method, path, **kwargs)
    response.close()
    return outcome(response, rule.endpoint, principal)


def _describe(row: Row | None, rule: Rule, method: str, observed: list[str]) -> str:
    if row is None:
        return f"{rule.endpoint} {method} ({rule.rule}): no row in {TABLE_PATH.name}; observed {observed}"
    return f"{rule.endpoint} {method} ({rule.rule}): observed {observed}"


@pytest.mark.parametrize("name", PRINCIPALS)
def test_every_route_answers_each_principal_as_the_table_says(
    app: Flask, db: SQLAlchemy, client: FlaskClient, name: str
) -> None:
    world = build_world(app, db)
    principal = make_principal(name, db, world)
    browser = Browser(app, db, client)
    table = load_table()
    wrong, unexpected_allows, observed_rows = [], [], {}
    for rule, method in route_methods(app):
        row = table.get((rule.endpoint, method))
        observed = []
        for index, relation in enumerate(relations_of(rule)):
            got = request_once(app, browser, world, principal, rule, method, relation)
            observed.append(got)
            if got == "ok" and (row is None or row.expected(name, index) != "ok"):
                unexpected_allows.append(f"{rule.endpoint} {method} {relation}")
        observed_rows[f"{rule.endpoint} {method}"] = observed
        if row is None or any(got != row.expected(name, i) for i, got in enumerate(observed)):
            wrong.append(_describe(row, rule, method, observed))
    if folder := os.environ.get("ACCESS_MATRIX_OBSERVED"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.json").write_text(json.dumps(observed_rows), encoding="utf-8")
    assert not unexpected_allows, f"{name} was let in where the table refuses: {unexpected_allows}"
    assert not wrong, f"{name}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", ["couns_a", "couns_b", "lead", "admin"])
def test_someone_elses_object_inside_ones_own_answers_as_a_missing_one(
    app: Flask, db: SQLAlchemy, client: FlaskClient, name: str
) -> None:
    """``/clients/<own>/sessions/<other's>`` and kin answer as the table says for a missing last object."""
    world = build_world(app, db)
    principal = make_principal(name, db, world)
    browser = Browser(app, db, client)
    table = load_table()
    wrong, tried = [], 0
    for rule, method in route_methods(app):
        objects = nested_other_objects(rule, world, principal)
        row = table[(rule.endpoint, method)]
        if objects is None or row.expected(name, 0) != "ok":
            continue
        path = app.url_map.bind("localhost").build(rule.endpoint, url_values(objects), method=method)
        body = BODIES.get(rule.endpoint, lambda w, p, o: {})(world, principal, objects)
        with browser.rolled_back():
            response = browser.send(holding(principal, rule, objects), method, path, data=body)
        response.close()
        got = outcome(response, rule.endpoint, principal)
        expected = row.expected(name, relations_of(rule).index("missing"))
        tried += 1
        if got != expected:
            wrong.append(f"{rule.endpoint} {method} ({path}): {got}, a missing one answers {expected}")
    assert tried, f"{name} may open no route naming someone else's object inside their own"
    assert not wrong, f"{name}:\n" + "\n".join(wrong)


def test_the_table_has_a_row_for_every_route_and_no_row_for_a_route_that_is_gone(app: Flask) -> None:
    table = load_table()
    routes = {(rule.endpoint, method): rule for rule, method in route_methods(app)}
    missing = [
        f"{endpoint} {method} ({rule.rule}): add a row for it to tests/security/{TABLE_PATH.name}"
        for (endpoint, method), rule in routes.items()
        if (endpoint, method) not in table
    ]
    assert not missing, "\n".join(missing)
    stale = sorted(set(table) - set(routes))
    assert not stale, f"rows for routes the app no longer has: {stale}"
    for (endpoint, method), row in table.items():
        relations = relations_of(routes[(endpoint, method)])
        for principal, cell in row.cells.items():
            assert len(cell) in (1, len(relations)), (endpoint, method, principal, cell, relations)


def test_get_never_reaches_a_route_that_only_changes_state(
    app: Flask, db: SQLAlchemy, client: FlaskClient
) -> None:
    world = build_world(app, db)
    principal = make_principal("couns_a", db, world)
    browser = Browser(app, db, client)
    readable = {rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or set())}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in readable:  # GET on this path is another route's (its page)
            continue
        values = url_values(objects_for(rule, world, principal, "own"))
        method = sorted((rule.methods or set()) & set(STATE_CHANGING))[0]
        path = app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
        with browser.rolled_back():
            response = browser.send(principal, "GET", path)
        response.close()
        assert response.status_code == 405, rule.rule
        checked += 1
    assert checked >= 20


def test_every_admin_change_the_matrix_allows_is_carried_out(
    app: Flask, db: SQLAlchemy, client: FlaskClient
) -> None:
    """An admin form's "ok" in the table means the change was made (and audited), not the form shown again."""
    world = build_world(app, db)
    browser = Browser(app, db, client)
    admin, anon = make_principal("admin", db, world), make_principal("anon", db, world)
    changes = [
        (rule, method)
        for rule, method in route_methods(app)
        if method != "GET" and rule.endpoint.startswith(("admin.", "auth.accept_invite"))
    ]
    not_carried_out = []
    for rule, method in changes:
        principal = anon if rule.endpoint == "auth.accept_invite" else admin
        objects = objects_for(rule, world, principal, "own")
        path = app.url_map.bind("localhost").build(rule.endpoint, url_values(objects), method=method)
        body = BODIES.get(rule.endpoint, lambda w, p, o: {})(world, principal, objects)
        with browser.rolled_back():
            audited_before = _audit_rows(browser)
            response = browser.send(holding(principal, rule, objects), method, path, data=body)
            audited = _audit_rows(browser) - audited_before
        page = response.get_data(as_text=True)
        response.close()
        if rule.endpoint == "admin.preview_choices":  # a preview's display choice: kept in this browser only
            with client.session_transaction() as session:
                audited = int(session.get("preview_prefs", {}).get("large", False))
        if rule.endpoint == "admin.preview_step":  # a Next without the script: stores nothing, leads on
            audited = len(re.findall(r'action="[^"]*/frame/[^"]*/1"', page))
        if response.status_code >= 400 or not audited:
            not_carried_out.append(f"{rule.endpoint} {method}: {response.status_code}, {audited} audited")
    assert len(changes) >= 19
    assert not not_carried_out, not_carried_out


@pytest.mark.parametrize("name", ["client", "couns_a", "lead", "research", "court_yes", "admin"])
def test_what_staff_do_on_the_web_is_audited_with_the_address_it_came_from(
    app: Flask, db: SQLAlchemy, client: FlaskClient, name: str
) -> None:
    """Every audit event a staff member's request writes (a change or a view) names the request's address."""
    world = build_world(app, db)
    principal = make_principal(name, db, world)
    browser = Browser(app, db, client)
    table = load_table()
    without_address, audited = [], 0
    for rule, method in route_methods(app):
        row = table.get((rule.endpoint, method))
        if row is None or row.expected(name, 0) != "ok":
            continue
        sender, path, kwargs = matrix_request(app, world, principal, rule, method, "own")
        with browser.rolled_back():
            newest = browser.connection.execute(select(func.max(AuditEvent.id))).scalar_one() or 0
            browser.send(sender, method, path, **kwargs).close()
            written = browser.connection.execute(
                select(AuditEvent.action, AuditEvent.ip).where(
                    AuditEvent.id > newest, AuditEvent.actor_type == "staff"
                )
            ).all()
        audited += len(written)
        without_address += [f"{rule.endpoint} {method}: {action}" for action, ip in written if ip is None]
    assert audited, "no request of this principal wrote a staff audit event"
    assert not without_address, f"{name}: audited without the request's address: {without_address}"


def _audit_rows(browser: Browser) -> int:
    return int(browser.connection.exec_driver_sql("SELECT count(*) FROM audit_events").scalar_one())
