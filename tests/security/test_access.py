"""The access helper: each role reaches only its own clients, by organisation, site and caseload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from werkzeug.exceptions import NotFound

from survey_app.models import Client, Site, StaffUser
from survey_app.web.access import can_view_client, client_for_staff_or_404, visible_clients
from tests.security.conftest import CaseFile

Builder = Callable[..., Any]


@pytest.fixture
def people(
    case_file: CaseFile, make_staff: Builder, make_site: Builder, make_client: Builder
) -> dict[str, Any]:
    """Staff of every role around one client, and a second client at another site of the same organisation."""
    org, site = case_file.organisation, case_file.site
    other_site: Site = make_site(org)
    return {
        "client": case_file.client,
        "other_site_client": make_client(site=other_site, programme=case_file.programme),
        "counsellor": case_file.counsellor,
        "other_counsellor": make_staff("counsellor", organisation=org, sites=[site]),
        "site_lead": make_staff("site_lead", organisation=org, sites=[site]),
        "other_site_lead": make_staff("site_lead", organisation=org, sites=[other_site]),
        "admin": make_staff("admin", organisation=org),
        "researcher": make_staff("researcher", organisation=org),
        "court_liaison": make_staff("court_liaison", organisation=org),
        "disabled_counsellor": make_staff("counsellor", organisation=org, sites=[site], is_active=False),
        "site_lead_elsewhere": make_staff("site_lead", sites=[make_site()]),
    }


EXPECTED = {
    "counsellor": True,
    "other_counsellor": False,
    "site_lead": True,
    "other_site_lead": False,
    "admin": False,
    "researcher": False,
    "court_liaison": False,
    "disabled_counsellor": False,
    "site_lead_elsewhere": False,
}


@pytest.mark.parametrize(("who", "allowed"), sorted(EXPECTED.items()))
def test_who_may_open_a_clients_record(
    app: Flask, db: SQLAlchemy, people: dict[str, Any], who: str, allowed: bool
) -> None:
    user: StaffUser = people[who]
    client: Client = people["client"]
    with app.app_context():
        assert can_view_client(user, client) is allowed
        visible = {row.id for row in db.session.scalars(visible_clients(user))}
        assert (client.id in visible) is allowed
        assert (people["other_site_client"].id in visible) is (who == "other_site_lead")


def test_someone_elses_client_and_a_missing_one_both_answer_404(app: Flask, people: dict[str, Any]) -> None:
    from flask_login import login_user

    other = people["other_counsellor"]
    other.bind_session_token("t")
    with app.test_request_context():
        login_user(other)
        for code in (people["client"].code, "NO-SUCH-CODE", "x" * 200):
            with pytest.raises(NotFound):
                client_for_staff_or_404(code)
        people["counsellor"].bind_session_token("u")
        login_user(people["counsellor"])
        assert client_for_staff_or_404(people["client"].code.lower()).id == people["client"].id


def test_role_guards_on_the_pages(client: Any, login_as: Builder, case_file: CaseFile) -> None:
    code = case_file.client.code
    assert client.get(f"/consent/clients/{code}").status_code == 302  # anonymous: sign in first
    login_as("researcher")
    assert client.get(f"/consent/clients/{code}").status_code == 403
    assert client.get("/court/").status_code == 403
