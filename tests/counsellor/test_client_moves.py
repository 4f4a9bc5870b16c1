"""Moving a client to another site: who may, the new counsellor, hand-overs, alerts, who sees them after."""

from __future__ import annotations

import html
import re

import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select
from werkzeug.test import TestResponse

from survey_app.models import AuditEvent, Client, ClientModeSession, Site, StaffUser
from survey_app.services.assessments import start_session
from survey_app.services.caseload import scope_of
from survey_app.services.client_moves import move_choices, move_client
from survey_app.services.clients import ClientError
from tests.counsellor.conftest import World, phq9, who5

RISKY = {"who5": who5(1, 1, 1, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 2)}


def _move(world: World, client: Client, site: Site, counsellor: StaffUser | None = None) -> TestResponse:
    path = f"/counsellor/clients/{client.code}/move"
    data = {"csrf_token": world.token(path), "site": str(site.id)}
    if counsellor is not None:
        data["counsellor"] = str(counsellor.id)
    return world.browser.post(path, data=data)


def _site_of(db: SQLAlchemy, client: Client) -> int:
    db.session.expire_all()
    return db.session.get(Client, client.id).site_id  # type: ignore[union-attr]


def _refusal(response: TestResponse) -> str:
    assert response.status_code == 422
    match = re.search(r'<p class="error" role="alert">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match
    return html.unescape(match.group(1))


def test_a_counsellor_cannot_move_a_client_to_a_site_where_they_do_not_work(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.sign_in(workspace.counsellor)
    page = workspace.browser.get(f"/counsellor/clients/{client.code}/move").get_data(as_text=True)
    assert "You work at no other site of your organisation" in page
    refusal = _refusal(_move(workspace, client, workspace.site_b, workspace.counsellor))
    assert "You can only move a client to a site where you work" in refusal
    assert _site_of(db, client) == workspace.site_a.id


def test_a_counsellor_working_at_both_sites_moves_their_client_and_stays_its_counsellor(
    workspace: World, db: SQLAlchemy
) -> None:
    workspace.counsellor.sites = [workspace.site_a, workspace.site_b]
    client = workspace.client_of(workspace.counsellor)
    workspace.sign_in(workspace.counsellor)
    moved = _move(workspace, client, workspace.site_b, workspace.colleague)  # not theirs to choose
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/clients/{client.code}")
    assert _site_of(db, client) == workspace.site_b.id
    assert db.session.get(Client, client.id).counsellor_id == workspace.counsellor.id  # type: ignore[union-attr]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "client.move")).one()
    assert (event.actor_id, event.ip) == (workspace.counsellor.id, "127.0.0.1")
    assert (
        event.details["from_site_id"] == workspace.site_a.id
        and event.details["site_id"] == workspace.site_b.id
    )


def test_a_site_lead_of_both_sites_chooses_a_counsellor_of_the_new_site(
    workspace: World, db: SQLAlchemy
) -> None:
    workspace.lead.sites = [workspace.site_a, workspace.site_b]
    client = workspace.client_of(workspace.colleague)
    workspace.sign_in(workspace.lead)
    assert "Choose the client's counsellor at the new site." in _refusal(
        _move(workspace, client, workspace.site_b)
    )
    not_there = _refusal(_move(workspace, client, workspace.site_b, workspace.colleague))
    assert "Choose a counsellor who works at the new site." in not_there
    elsewhere = _refusal(_move(workspace, client, workspace.stranger_site, workspace.outsider))
    assert "Choose one of your organisation's sites." in elsewhere
    same = _refusal(_move(workspace, client, workspace.site_a, workspace.counsellor))
    assert "already at that site" in same
    assert _site_of(db, client) == workspace.site_a.id

    assert _move(workspace, client, workspace.site_b, workspace.lead_b).status_code == 302
    assert _site_of(db, client) == workspace.site_b.id


def test_a_lead_of_the_old_site_only_cannot_push_a_client_to_another_site(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.colleague)
    workspace.sign_in(workspace.lead)
    assert "where you work" in _refusal(_move(workspace, client, workspace.site_b, workspace.lead_b))
    assert _site_of(db, client) == workspace.site_a.id


def test_after_the_move_only_staff_of_the_new_site_see_the_client_and_its_alerts(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.colleague)
    workspace.submit(client, workspace.t0, RISKY)  # an urgent alert, not yet acknowledged
    mover = workspace.lead
    mover.sites = [workspace.site_a, workspace.site_b]
    workspace.sign_in(mover)
    response = _move(workspace, client, workspace.site_b, workspace.lead_b)
    assert response.status_code == 302
    flashed = workspace.browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 open alert now reaches the new site." in flashed

    site_a_lead = workspace.lead  # a lead of A only, as the old counsellor is of A only
    site_a_lead.sites = [workspace.site_a]
    for user in (workspace.colleague, site_a_lead):
        workspace.sign_in(user)
        assert workspace.browser.get(f"/counsellor/clients/{client.code}").status_code == 404
        assert client.code not in workspace.browser.get("/").get_data(as_text=True)
    workspace.sign_in(workspace.lead_b)
    assert workspace.browser.get(f"/counsellor/clients/{client.code}").status_code == 200
    alerts = (
        workspace.browser.get("/").get_data(as_text=True).split('id="alerts"', 1)[1].split("</section>", 1)[0]
    )
    assert client.code in alerts


def test_a_hand_over_on_a_tablet_of_the_old_site_ends_with_the_move(workspace: World, db: SQLAlchemy) -> None:
    workspace.counsellor.sites = [workspace.site_a, workspace.site_b]
    client = workspace.client_of(workspace.counsellor)
    assessment = start_session(db.session, client, workspace.t0, created_by=workspace.counsellor.id)
    tablet = ClientModeSession(
        token_hash="a" * 64,
        assessment_session_id=assessment.id,
        started_by=workspace.counsellor.id,
        via="tablet",
    )
    phone = ClientModeSession(token_hash="b" * 64, assessment_session_id=assessment.id, via="code")
    db.session.add_all([tablet, phone])
    db.session.flush()
    workspace.sign_in(workspace.counsellor)
    response = _move(workspace, client, workspace.site_b)
    assert response.status_code == 302
    page = workspace.browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "The hand-over on a tablet of the old site was ended" in page
    db.session.expire_all()
    assert db.session.get(ClientModeSession, tablet.id).end_reason == "moved"  # type: ignore[union-attr]
    assert db.session.get(ClientModeSession, phone.id).ended_at is None  # type: ignore[union-attr]


def test_only_a_site_lead_gives_the_moved_client_another_counsellor(workspace: World, db: SQLAlchemy) -> None:
    workspace.counsellor.sites = [workspace.site_a, workspace.site_b]
    workspace.colleague.sites = [workspace.site_a, workspace.site_b]
    client = workspace.client_of(workspace.counsellor)
    scope = scope_of(db.session, workspace.counsellor)
    with pytest.raises(ClientError, match="Only a site lead can assign a client to another counsellor"):
        move_client(db.session, scope, client, workspace.site_b.id, workspace.colleague.id)
    choices = move_choices(db.session, scope, client)
    assert [site.id for site in choices.sites] == [workspace.site_b.id]
    assert choices.counsellors[workspace.site_b.id] == [workspace.counsellor]
