"""Who may route alerts, and what being a recipient lets someone see.

A named recipient may open the clients whose alerts reach them, so the routing decides who sees a client:
an admin routes every site's alerts to anyone of the organisation; a site lead names, for one of their own
sites, staff who work there, and removes only their own sites' routing; the site-lead setting is the
admin's. A recipient sees the clients whose alerts (of the kind they receive) reach them, and manages none.
"""

from __future__ import annotations

import re

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from survey_app.extensions import db as _db
from survey_app.models import (
    AlertRecipient,
    AlertSetting,
    AssessmentSession,
    AuditEvent,
    Client,
    ClientIdentity,
    ScoreFlag,
    StaffUser,
)
from tests.counsellor.conftest import World, phq9, who5

#: PHQ-9 item 9 answered 2: the urgent flag item9_risk.
RISKY = {"who5": who5(1, 1, 1, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 2)}
QUIET = {"who5": who5(4, 4, 4, 4, 4)}
SETTINGS = "/counsellor/settings/alerts"


def _name(world: World, recipient: StaffUser, site: str, severities: str = "all") -> TestResponse:
    """The signed-in staff member names ``recipient`` for ``site`` (a site id, or "" for every site)."""
    return world.browser.post(
        f"{SETTINGS}/recipients",
        data={
            "csrf_token": world.token(SETTINGS),
            "staff": str(recipient.id),
            "site": site,
            "severities": severities,
        },
    )


def _recipients(db: SQLAlchemy) -> int:
    return db.session.scalar(select(func.count()).select_from(AlertRecipient)) or 0


def _routed(db: SQLAlchemy, recipient: AlertRecipient) -> bool:
    return db.session.scalar(select(AlertRecipient.id).where(AlertRecipient.id == recipient.id)) is not None


def _site_b_client_with_an_alert(world: World) -> tuple[Client, AssessmentSession]:
    """A named client at site B (no counsellor yet) whose session raised an urgent alert."""
    client = world.client_of(None, site=world.site_b)
    _db.session.add(ClientIdentity(client_id=client.id, given_name="Bea", family_name="Elsewhere-Site"))
    return client, world.submit(client, world.t0, RISKY)


def _client_pages(client: Client, session: AssessmentSession) -> list[str]:
    return [
        f"/counsellor/clients/{client.code}",
        f"/counsellor/clients/{client.code}/sessions/{session.public_id}",
        f"/counsellor/clients/{client.code}/edit",
    ]


def test_a_site_lead_cannot_name_themselves_for_every_site_to_open_another_sites_client(
    workspace: World, db: SQLAlchemy
) -> None:
    client, session = _site_b_client_with_an_alert(workspace)
    workspace.sign_in(workspace.lead)  # a site lead of site A only
    response = _name(workspace, workspace.lead, "")
    assert response.status_code == 422
    assert "Only an admin can name someone for the alerts of every site." in response.get_data(as_text=True)
    assert _recipients(db) == 0
    for path in _client_pages(client, session):
        assert workspace.browser.get(path).status_code == 404, path
    token = workspace.token()
    path = f"/counsellor/clients/{client.code}"
    renamed = workspace.browser.post(
        f"{path}/edit",
        data={"csrf_token": token, "preferred_language": "en", "given_name": "X", "family_name": "Y"},
    )
    withdrawn = workspace.browser.post(f"{path}/status", data={"csrf_token": token, "status": "withdrawn"})
    assert renamed.status_code == 404 and withdrawn.status_code == 404
    db.session.expire_all()
    assert db.session.get(Client, client.id).status == "active"  # type: ignore[union-attr]
    assert db.session.get(ClientIdentity, client.id).family_name == "Elsewhere-Site"  # type: ignore[union-attr]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert_settings.update")) is None


def test_a_site_lead_routes_only_their_own_sites_alerts(workspace: World, db: SQLAlchemy) -> None:
    workspace.sign_in(workspace.lead)
    response = _name(workspace, workspace.lead, str(workspace.site_b.id))
    assert response.status_code == 422
    assert "Only an admin can route the alerts of a site you do not work at." in response.get_data(
        as_text=True
    )
    assert _recipients(db) == 0


def test_a_site_lead_names_only_staff_who_work_at_that_site(workspace: World, db: SQLAlchemy) -> None:
    workspace.sign_in(workspace.lead)
    response = _name(workspace, workspace.lead_b, str(workspace.site_a.id))  # works at site B
    assert response.status_code == 422
    assert "Choose someone who works at that site." in response.get_data(as_text=True)
    assert _recipients(db) == 0
    assert _name(workspace, workspace.colleague, str(workspace.site_a.id), "urgent").status_code == 302
    recipient = db.session.scalar(select(AlertRecipient))
    assert recipient is not None and (recipient.staff_user_id, recipient.site_id) == (
        workspace.colleague.id,
        workspace.site_a.id,
    )


def test_the_page_offers_a_site_lead_only_their_own_site_and_its_people(workspace: World) -> None:
    workspace.sign_in(workspace.lead)
    page = workspace.browser.get(SETTINGS).get_data(as_text=True)
    form = re.search(r'action="/counsellor/settings/alerts/recipients".*?</form>', page, re.S)
    assert form is not None
    options = form.group(0)
    assert "every site" not in options and workspace.site_b.name not in options
    assert workspace.colleague.display_name in options and workspace.lead_b.display_name not in options
    assert 'name="site_leads"' not in page and "only an admin can change it" in page
    workspace.sign_in(workspace.admin)
    page = workspace.browser.get(SETTINGS).get_data(as_text=True)
    assert "every site" in page and workspace.site_b.name in page and 'name="site_leads"' in page
    assert workspace.lead_b.display_name in page


def test_only_an_admin_changes_which_alerts_the_site_leads_receive(workspace: World, db: SQLAlchemy) -> None:
    workspace.sign_in(workspace.lead)
    response = workspace.browser.post(
        SETTINGS, data={"csrf_token": workspace.token(SETTINGS), "site_leads": "all"}
    )
    assert response.status_code == 403
    assert db.session.get(AlertSetting, workspace.organisation.id) is None
    workspace.sign_in(workspace.admin)
    response = workspace.browser.post(
        SETTINGS, data={"csrf_token": workspace.token(SETTINGS), "site_leads": "all"}
    )
    assert response.status_code == 302
    setting = db.session.get(AlertSetting, workspace.organisation.id)
    assert setting is not None and setting.site_leads == "all"


def test_a_site_lead_removes_only_their_own_sites_routing(workspace: World, db: SQLAlchemy) -> None:
    everywhere = AlertRecipient(
        organisation_id=workspace.organisation.id,
        staff_user_id=workspace.lead.id,
        site_id=None,
        severities="all",
    )
    other_site = AlertRecipient(
        organisation_id=workspace.organisation.id,
        staff_user_id=workspace.lead_b.id,
        site_id=workspace.site_b.id,
        severities="all",
    )
    own_site = AlertRecipient(
        organisation_id=workspace.organisation.id,
        staff_user_id=workspace.colleague.id,
        site_id=workspace.site_a.id,
    )
    db.session.add_all([everywhere, other_site, own_site])
    db.session.flush()
    workspace.sign_in(workspace.lead)
    page = workspace.browser.get(SETTINGS).get_data(as_text=True)
    assert f"/recipients/{own_site.id}/remove" in page
    assert f"/recipients/{everywhere.id}/remove" not in page and workspace.lead_b.display_name not in page
    token = workspace.token(SETTINGS)
    for recipient in (everywhere, other_site):
        response = workspace.browser.post(
            f"{SETTINGS}/recipients/{recipient.id}/remove", data={"csrf_token": token}
        )
        assert response.status_code == 403
        assert _routed(db, recipient)
    response = workspace.browser.post(
        f"{SETTINGS}/recipients/{own_site.id}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert not _routed(db, own_site)
    workspace.sign_in(workspace.admin)
    response = workspace.browser.post(
        f"{SETTINGS}/recipients/{everywhere.id}/remove", data={"csrf_token": workspace.token(SETTINGS)}
    )
    assert response.status_code == 302 and not _routed(db, everywhere)


def test_an_admin_may_route_every_sites_alerts_to_a_site_lead_who_then_opens_those_clients(
    workspace: World, db: SQLAlchemy
) -> None:
    client, session = _site_b_client_with_an_alert(workspace)
    quiet = workspace.client_of(None, site=workspace.site_b)
    workspace.submit(quiet, workspace.t0, QUIET)
    workspace.sign_in(workspace.admin)
    response = _name(workspace, workspace.lead, "")
    assert response.status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert_settings.update"))
    assert event is not None and event.actor_id == workspace.admin.id and event.ip == "127.0.0.1"
    workspace.sign_in(workspace.lead)
    page = workspace.browser.get(f"/counsellor/clients/{client.code}")
    assert page.status_code == 200
    answers = workspace.browser.get(f"/counsellor/clients/{client.code}/sessions/{session.public_id}")
    assert answers.status_code == 200
    assert workspace.browser.get(f"/counsellor/clients/{quiet.code}").status_code == 404  # no alert


def test_a_recipient_opens_only_the_clients_whose_alerts_of_their_kind_reach_them(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(None, site=workspace.site_b)
    session = workspace.submit(client, workspace.t0, QUIET)
    version_id = session.questionnaires[0].questionnaire_version_id
    db.session.add(
        ScoreFlag(
            session_id=session.id,
            questionnaire_version_id=version_id,
            flag_id="low_mood",
            severity="attention",
        )
    )
    db.session.add(
        AlertRecipient(
            organisation_id=workspace.organisation.id,
            staff_user_id=workspace.colleague.id,
            site_id=workspace.site_b.id,
            severities="urgent",
        )
    )
    db.session.flush()
    workspace.sign_in(workspace.colleague)
    path = f"/counsellor/clients/{client.code}"
    assert workspace.browser.get(path).status_code == 404  # an alert, but not one of the urgent kind
    db.session.add(
        ScoreFlag(
            session_id=session.id, questionnaire_version_id=version_id, flag_id="risk", severity="urgent"
        )
    )
    db.session.flush()
    assert workspace.browser.get(path).status_code == 200


def test_a_recipient_sees_the_client_but_cannot_change_their_record(workspace: World, db: SQLAlchemy) -> None:
    client, session = _site_b_client_with_an_alert(workspace)
    db.session.add(
        AlertRecipient(
            organisation_id=workspace.organisation.id,
            staff_user_id=workspace.colleague.id,
            site_id=workspace.site_b.id,
            severities="all",
        )
    )
    db.session.flush()
    workspace.sign_in(workspace.colleague)
    path = f"/counsellor/clients/{client.code}"
    page = workspace.browser.get(path).get_data(as_text=True)
    assert "Bea" in page and f"{path}/edit" not in page and f"{path}/status" not in page
    assert "/client-mode/start/" not in page
    token = workspace.token(path)
    assert workspace.browser.get(f"{path}/edit").status_code == 404
    changes = {
        f"{path}/edit": {"preferred_language": "fr", "given_name": "X", "family_name": "Y"},
        f"{path}/anchors": {"anchor_intake": "2026-01-12"},
        f"{path}/status": {"status": "withdrawn", "reason": ""},
    }
    for target, form in changes.items():
        assert workspace.browser.post(target, data={"csrf_token": token, **form}).status_code == 404, target
    db.session.expire_all()
    changed = db.session.get(Client, client.id)
    assert changed is not None and changed.status == "active" and changed.preferred_language != "fr"
    assert db.session.get(ClientIdentity, client.id).given_name == "Bea"  # type: ignore[union-attr]
    note = workspace.browser.post(
        f"{path}/sessions/{session.public_id}/notes", data={"csrf_token": token, "body": "Called them back."}
    )
    assert note.status_code == 302  # what they did about the alert belongs with the session
