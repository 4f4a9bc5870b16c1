"""Risk alerts: they stay until acknowledged with a note; the organisation chooses who else receives them."""

from __future__ import annotations

import re

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import (
    AlertAcknowledgement,
    AlertRecipient,
    AlertSetting,
    AssessmentSession,
    AuditEvent,
    Client,
    ScoreFlag,
)
from tests.counsellor.conftest import World, phq9, who5

#: PHQ-9 item 9 answered 2: the urgent flag item9_risk.
RISKY = {"who5": who5(1, 1, 1, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 2)}


def alerts_section(world: World) -> str:
    page = world.browser.get("/").get_data(as_text=True)
    match = re.search(r'<section id="alerts".*?</section>', page, re.S)
    assert match
    return match.group(0)


def flag_of(db: SQLAlchemy, client: Client) -> ScoreFlag:
    flag = db.session.scalar(
        select(ScoreFlag)
        .join(AssessmentSession, AssessmentSession.id == ScoreFlag.session_id)
        .where(AssessmentSession.client_id == client.id)
    )
    assert flag is not None
    return flag


def acknowledge(world: World, flag_ids: list[int], note: str) -> int:
    response = world.browser.post(
        "/counsellor/alerts/acknowledge",
        data={
            "csrf_token": world.token(),
            "alert": [str(i) for i in flag_ids],
            "note": note,
            "next": "/#alerts",
        },
    )
    return response.status_code


def test_an_alert_stays_until_acknowledged_with_a_note_then_leaves_the_dashboard(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, RISKY)
    flag = flag_of(db, client)
    workspace.sign_in(workspace.counsellor)
    assert client.code in alerts_section(workspace)
    assert acknowledge(workspace, [flag.id], "Phoned the client; safety plan agreed.") == 302
    assert client.code not in alerts_section(workspace)
    db.session.expire_all()
    flag = db.session.get(ScoreFlag, flag.id)  # type: ignore[assignment]
    assert flag.acknowledged_by == workspace.counsellor.id and flag.acknowledged_at is not None
    acknowledgement = db.session.scalar(select(AlertAcknowledgement))
    assert acknowledgement is not None and acknowledgement.note == "Phoned the client; safety plan agreed."
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge"))
    assert event is not None and event.object_id == str(flag.id) and "safety" not in str(event.details)
    page = workspace.browser.get(f"/counsellor/clients/{client.code}").get_data(as_text=True)
    assert "Phoned the client; safety plan agreed." in page and "No open alerts." in page


def test_acknowledging_needs_a_note_and_happens_once(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, RISKY)
    flag = flag_of(db, client)
    workspace.sign_in(workspace.counsellor)
    acknowledge(workspace, [flag.id], "   ")
    assert "Write what you did or decided" in workspace.browser.get("/").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AlertAcknowledgement)) == 0
    acknowledge(workspace, [flag.id], "Seen.")
    acknowledge(workspace, [flag.id], "Seen again.")
    assert "already been acknowledged" in workspace.browser.get("/").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AlertAcknowledgement)) == 1


def test_several_alerts_are_acknowledged_with_one_note(workspace: World, db: SQLAlchemy) -> None:
    first, second = workspace.client_of(workspace.counsellor), workspace.client_of(workspace.counsellor)
    workspace.submit(first, workspace.t0, RISKY)
    workspace.submit(second, workspace.t0, RISKY)
    workspace.sign_in(workspace.counsellor)
    assert (
        acknowledge(workspace, [flag_of(db, first).id, flag_of(db, second).id], "Discussed in team.") == 302
    )
    assert db.session.scalar(select(func.count()).select_from(AlertAcknowledgement)) == 2
    assert "No alerts are waiting." in alerts_section(workspace)


def test_site_leads_receive_urgent_alerts_by_default_and_the_organisation_can_change_that(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, RISKY)
    workspace.sign_in(workspace.lead)
    assert client.code in alerts_section(workspace)
    workspace.sign_in(workspace.lead_b)  # a site lead of another site
    assert client.code not in alerts_section(workspace)
    workspace.sign_in(workspace.admin)  # a setting of the whole organisation: the admin's
    response = workspace.browser.post(
        "/counsellor/settings/alerts",
        data={"csrf_token": workspace.token("/counsellor/settings/alerts"), "site_leads": "none"},
    )
    assert response.status_code == 302
    workspace.sign_in(workspace.lead)
    assert client.code not in alerts_section(workspace)
    setting = db.session.get(AlertSetting, workspace.organisation.id)
    assert setting is not None and setting.site_leads == "none"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert_settings.update"))
    assert event is not None and event.details == {"site_leads": "none"}


def test_alerts_of_clients_without_a_counsellor_always_reach_the_site_leads(
    workspace: World, db: SQLAlchemy
) -> None:
    db.session.add(AlertSetting(organisation_id=workspace.organisation.id, site_leads="none"))
    client = workspace.client_of(None)
    workspace.submit(client, workspace.t0, RISKY)
    workspace.sign_in(workspace.lead)
    assert client.code in alerts_section(workspace)


def test_named_recipients_receive_alerts_and_may_open_those_clients(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    quiet = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, RISKY)
    workspace.sign_in(workspace.colleague)
    assert client.code not in alerts_section(workspace)
    assert workspace.browser.get(f"/counsellor/clients/{client.code}").status_code == 404
    workspace.sign_in(workspace.lead)
    response = workspace.browser.post(
        "/counsellor/settings/alerts/recipients",
        data={
            "csrf_token": workspace.token("/counsellor/settings/alerts"),
            "staff": str(workspace.colleague.id),
            "site": str(workspace.site_a.id),
            "severities": "urgent",
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(select(AlertRecipient.staff_user_id)) == workspace.colleague.id
    workspace.sign_in(workspace.colleague)
    assert client.code in alerts_section(workspace)
    assert workspace.browser.get(f"/counsellor/clients/{client.code}").status_code == 200
    assert (
        workspace.browser.get(f"/counsellor/clients/{quiet.code}").status_code == 404
    )  # no alert, no access
    assert acknowledge(workspace, [flag_of(db, client).id], "Covered for Casey.") == 302


def test_counsellors_cannot_change_the_alert_settings_and_others_organisations_are_out_of_reach(
    workspace: World, db: SQLAlchemy
) -> None:
    workspace.sign_in(workspace.counsellor)
    assert workspace.browser.get("/counsellor/settings/alerts").status_code == 403
    workspace.sign_in(workspace.lead)
    token = workspace.token("/counsellor/settings/alerts")
    response = workspace.browser.post(
        "/counsellor/settings/alerts/recipients",
        data={"csrf_token": token, "staff": str(workspace.outsider.id), "site": "", "severities": "all"},
    )
    assert response.status_code == 422 and "Choose a counsellor or site lead of your organisation." in (
        response.get_data(as_text=True)
    )
    stranger = AlertRecipient(
        organisation_id=workspace.outsider.organisation_id, staff_user_id=workspace.outsider.id
    )
    db.session.add(stranger)
    db.session.flush()
    response = workspace.browser.post(
        f"/counsellor/settings/alerts/recipients/{stranger.id}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert db.session.get(AlertRecipient, stranger.id) is not None


def test_a_note_the_browser_let_through_at_the_limit_is_kept_with_its_line_breaks(
    workspace: World, db: SQLAlchemy
) -> None:
    """A textarea counts a line break as one character but sends it as two (CR LF)."""
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, RISKY)
    flag = flag_of(db, client)
    workspace.sign_in(workspace.counsellor)
    typed = "\n".join(["Phoned the client." + "." * 181] * 20)  # 20 lines of 200 with breaks: 3,999
    assert len(typed) == 3999
    assert acknowledge(workspace, [flag.id], typed.replace("\n", "\r\n")) == 302
    acknowledgement = db.session.scalar(select(AlertAcknowledgement))
    assert acknowledgement is not None and acknowledgement.note == typed


def test_a_note_too_long_for_the_form_is_refused_for_its_length(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, RISKY)
    flag = flag_of(db, client)
    workspace.sign_in(workspace.counsellor)
    acknowledge(workspace, [flag.id], "x" * 4001)
    assert "at most 4000 characters" in workspace.browser.get("/").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AlertAcknowledgement)) == 0
