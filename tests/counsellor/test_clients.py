"""Registering clients, editing their details and dates, and changing their status: every change audited."""

from __future__ import annotations

import datetime as dt
import re

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import AuditEvent, Client, ClientAnchorChange, ClientIdentity, ClientStatusChange
from survey_app.services.clients import CROCKFORD, new_client_code
from survey_app.services.consent import consent_for, record_consent
from survey_app.services.sharing import build_court_report
from tests.counsellor.conftest import TODAY, World, phq9, who5

CALM = {"who5": who5(3, 3, 3, 3, 3), "phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)}


def audit_of(db: SQLAlchemy, action: str) -> list[AuditEvent]:
    """The events of ``action``, oldest first (without an order PostgreSQL may return them in any)."""
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def register(world: World, **fields: str) -> tuple[int, str]:
    data = {
        "csrf_token": world.token("/counsellor/clients/new"),
        "site": str(world.site_a.id),
        "programme": str(world.programme.id),
        "preferred_language": "nl",
        "intake_date": TODAY.isoformat(),
        **fields,
    }
    response = world.browser.post("/counsellor/clients/new", data=data)
    return response.status_code, response.headers.get("Location", "") or response.get_data(as_text=True)


def test_new_codes_are_the_site_code_and_six_crockford_characters() -> None:
    codes = {new_client_code("demo-gent") for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        prefix, suffix = code.rsplit("-", 1)
        assert prefix == "DEMO-GENT" and len(suffix) == 6 and set(suffix) <= set(CROCKFORD)
        assert not set(suffix) & set("ILOU")


def test_a_counsellor_registers_a_client_with_an_optional_name_kept_apart(
    workspace: World, db: SQLAlchemy
) -> None:
    workspace.sign_in(workspace.counsellor)
    status, location = register(
        workspace,
        given_name=" Anna ",
        family_name="Peeters",
        anchor_hearing=(TODAY - dt.timedelta(days=3)).isoformat(),
    )
    assert status == 302
    code = location.rsplit("/", 1)[1]
    client = db.session.scalar(select(Client).where(Client.code == code))
    assert client is not None and client.code.startswith(workspace.site_a.code + "-")
    assert (client.counsellor_id, client.preferred_language, client.intake_date) == (
        workspace.counsellor.id,
        "nl",
        TODAY,
    )
    assert {row.anchor: row.date for row in client.anchor_dates} == {"hearing": TODAY - dt.timedelta(days=3)}
    identity = db.session.get(ClientIdentity, client.id)
    assert identity is not None and (identity.given_name, identity.family_name) == ("Anna", "Peeters")
    event = audit_of(db, "client.create")[-1]
    assert (
        event.object_id == str(client.id) and "Anna" not in str(event.details) and event.details["identity"]
    )
    page = workspace.browser.get(location).get_data(as_text=True)
    assert f"Client registered. Their code is {code}." in page and "Anna Peeters" in page


def test_registering_at_a_site_where_one_does_not_work_is_refused(workspace: World, db: SQLAlchemy) -> None:
    workspace.sign_in(workspace.counsellor)
    before = db.session.scalar(select(func.count()).select_from(Client))
    status, page = register(workspace, site=str(workspace.site_b.id))
    assert status == 422 and "Not a valid choice" in page
    status, page = register(workspace, intake_date="yesterday")
    assert status == 422 and "Not a valid date value." in page
    assert db.session.scalar(select(func.count()).select_from(Client)) == before


def test_a_counsellor_cannot_assign_a_client_to_someone_else_but_a_site_lead_can(
    workspace: World, db: SQLAlchemy
) -> None:
    workspace.sign_in(workspace.counsellor)
    status, location = register(workspace, counsellor=str(workspace.colleague.id))
    assert status == 302
    mine = db.session.scalar(select(Client).where(Client.code == location.rsplit("/", 1)[1]))
    assert mine is not None and mine.counsellor_id == workspace.counsellor.id
    workspace.sign_in(workspace.lead)
    status, location = register(workspace, counsellor=str(workspace.colleague.id))
    assert status == 302
    theirs = db.session.scalar(select(Client).where(Client.code == location.rsplit("/", 1)[1]))
    assert theirs is not None and theirs.counsellor_id == workspace.colleague.id


def test_moving_the_intake_date_moves_pending_timepoints_and_keeps_completed_ones(
    workspace: World, db: SQLAlchemy
) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, CALM, when=dt.datetime.combine(intake, dt.time(10), dt.UTC))
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}"
    new_intake = intake + dt.timedelta(days=14)
    response = workspace.browser.post(
        f"{path}/anchors",
        data={"csrf_token": workspace.token(f"{path}/edit"), "anchor_intake": new_intake.isoformat()},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, client.id).intake_date == new_intake  # type: ignore[union-attr]
    change = db.session.scalar(select(ClientAnchorChange).where(ClientAnchorChange.client_id == client.id))
    assert change is not None and (change.previous_date, change.new_date) == (intake, new_intake)
    timeline = workspace.browser.get(path).get_data(as_text=True)
    target_then = intake.strftime("%b %-d, %Y")
    moved_target = (new_intake + dt.timedelta(days=91)).strftime("%b %-d, %Y")
    intake_card = re.search(r"Intake</h3>.*?</li>", timeline, re.S).group(0)  # type: ignore[union-attr]
    three_card = re.search(r"3 months</h3>.*?</li>", timeline, re.S).group(0)  # type: ignore[union-attr]
    assert f"Target date: {target_then}" in intake_card  # completed: kept its date
    assert f"Target date: {moved_target}" in three_card  # pending: moved with the anchor
    assert audit_of(db, "client.anchors_change")[-1].details == {"anchors": ["intake"]}


def test_an_unreadable_or_missing_intake_date_is_refused_and_nothing_changes(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}"
    token = workspace.token(f"{path}/edit")
    for value, message in (
        ("31/02/2026", "Enter the date as year-month-day"),
        ("", "always has an intake date"),
    ):
        response = workspace.browser.post(
            f"{path}/anchors", data={"csrf_token": token, "anchor_intake": value}
        )
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, client.id).intake_date == client.intake_date  # type: ignore[union-attr]


def test_pausing_and_withdrawing_are_recorded_with_their_reason_outside_the_audit(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor, intake=TODAY - dt.timedelta(days=85))
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}"
    token = workspace.token(path)
    workspace.browser.post(
        f"{path}/status", data={"csrf_token": token, "status": "paused", "reason": "In hospital"}
    )
    page = workspace.browser.get(path).get_data(as_text=True)
    assert "Status changed to: Paused." in page and "state-on_hold" in page and "In hospital" in page
    workspace.browser.post(f"{path}/status", data={"csrf_token": token, "status": "withdrawn"})
    db.session.expire_all()
    assert db.session.get(Client, client.id).status == "withdrawn"  # type: ignore[union-attr]
    changes = db.session.scalars(select(ClientStatusChange).order_by(ClientStatusChange.id)).all()
    assert [(row.from_status, row.to_status, row.reason) for row in changes] == [
        ("active", "paused", "In hospital"),
        ("paused", "withdrawn", None),
    ]
    events = audit_of(db, "client.status_change")
    assert [event.details for event in events] == [
        {"from": "active", "to": "paused", "reason_given": True},
        {"from": "paused", "to": "withdrawn", "reason_given": False},
    ]


def test_an_impossible_status_change_is_refused(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor, status="withdrawn")
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}"
    workspace.browser.post(f"{path}/status", data={"csrf_token": workspace.token(path), "status": "paused"})
    page = workspace.browser.get(path).get_data(as_text=True)
    assert "That status change is not possible" in page
    db.session.expire_all()
    assert db.session.get(Client, client.id).status == "withdrawn"  # type: ignore[union-attr]


def test_refused_changes_show_the_edit_page_again_and_are_audited_like_it(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}"
    workspace.sign_in(workspace.counsellor)
    token = workspace.token(f"{path}/edit")
    before = len(audit_of(db, "client.view"))
    dates = workspace.browser.post(
        f"{path}/anchors", data={"csrf_token": token, "anchor_intake": "not-a-date"}
    )
    details = workspace.browser.post(f"{path}/edit", data={"csrf_token": token, "preferred_language": "xx"})
    assert dates.status_code == 422 and details.status_code == 422
    assert str(client.intake_date) in details.get_data(as_text=True)  # the page shows the client's dates
    events = audit_of(db, "client.view")[before:]
    assert [event.details for event in events] == [{"page": "client_edit"}] * 2
    assert {event.ip for event in events} == {"127.0.0.1"}


def test_details_are_edited_and_only_site_leads_reassign(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}/edit"
    workspace.sign_in(workspace.counsellor)
    assert workspace.browser.get(path).status_code == 200
    assert audit_of(db, "client.view")[-1].details == {"page": "client_edit"}
    data = {"preferred_language": "fr", "counsellor": str(workspace.colleague.id), "given_name": "Jo"}
    response = workspace.browser.post(path, data={"csrf_token": workspace.token(path), **data})
    assert response.status_code == 302
    db.session.expire_all()
    edited = db.session.get(Client, client.id)
    assert (
        edited is not None
        and edited.preferred_language == "fr"
        and edited.counsellor_id == workspace.counsellor.id
    )
    assert audit_of(db, "client.update")[-1].details == {"fields": ["preferred_language", "name"]}
    workspace.sign_in(workspace.lead)
    response = workspace.browser.post(
        path, data={"csrf_token": workspace.token(path), **data, "preferred_language": "fr"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, client.id).counsellor_id == workspace.colleague.id  # type: ignore[union-attr]


def test_an_intake_or_anchor_date_far_in_the_past_or_future_is_refused(
    workspace: World, db: SQLAlchemy
) -> None:
    workspace.sign_in(workspace.counsellor)
    for far in ("9999-12-31", "1999-12-31", (TODAY + dt.timedelta(days=400)).isoformat()):
        status, page = register(workspace, intake_date=far)
        assert status == 422 and "no more than a year ahead" in page
        status, page = register(workspace, anchor_hearing=far)
        assert status == 422 and "no more than a year ahead" in page
    client = workspace.client_of(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}"
    response = workspace.browser.post(
        f"{path}/anchors", data={"csrf_token": workspace.token(f"{path}/edit"), "anchor_intake": "9999-12-31"}
    )
    assert response.status_code == 422 and "no more than a year ahead" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, client.id).intake_date == client.intake_date  # type: ignore[union-attr]


def test_a_far_future_date_already_stored_does_not_break_the_client_page_or_dashboard(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor, intake=dt.date(9999, 12, 31))
    workspace.sign_in(workspace.counsellor)
    assert workspace.browser.get(f"/counsellor/clients/{client.code}").status_code == 200
    dashboard = workspace.browser.get("/")
    assert dashboard.status_code == 200 and "Your caseload" in dashboard.get_data(as_text=True)
    record_consent(db.session, client, "court", True)
    court = build_court_report(
        db.session, client, consent_for(db.session, client.id, "court"), today=TODAY, timezone=dt.UTC
    )
    assert {row.status for row in court.attendance} == {"upcoming"}
