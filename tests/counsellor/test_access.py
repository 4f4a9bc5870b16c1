"""Who may use the workspace, per route and per object: someone else's client, session or alert is a 404."""

from __future__ import annotations

import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import (
    AlertAcknowledgement,
    AssessmentSession,
    AuditEvent,
    Client,
    ScoreFlag,
    SessionNote,
)
from tests.counsellor.conftest import World, phq9, who5

RISKY = {"who5": who5(1, 1, 1, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 2)}


def client_paths(code: str, public_id: str) -> list[str]:
    return [
        f"/counsellor/clients/{code}",
        f"/counsellor/clients/{code}/edit",
        f"/counsellor/clients/{code}/sessions/{public_id}",
    ]


def test_visitors_who_are_not_signed_in_go_to_the_sign_in_page(workspace: World) -> None:
    for path in ("/counsellor/clients/new", "/counsellor/clients/X-1", "/counsellor/settings/alerts"):
        response = workspace.browser.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/sign-in")


@pytest.mark.parametrize("role", ["researcher", "liaison"])
def test_researchers_and_court_liaisons_get_nothing_from_the_workspace(workspace: World, role: str) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, RISKY)
    workspace.sign_in(getattr(workspace, role))
    paths = [
        *client_paths(client.code, session.public_id),
        "/counsellor/clients/new",
        "/counsellor/settings/alerts",
    ]
    for path in paths:
        assert workspace.browser.get(path).status_code == 403, path
    assert workspace.browser.post("/counsellor/alerts/acknowledge").status_code in (400, 403)


def test_admins_reach_the_alert_settings_but_no_client_data(workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, RISKY)
    workspace.sign_in(workspace.admin)
    assert workspace.browser.get("/counsellor/settings/alerts").status_code == 200
    for path in [*client_paths(client.code, session.public_id), "/counsellor/clients/new"]:
        assert workspace.browser.get(path).status_code == 403, path
    page = workspace.browser.get("/").get_data(as_text=True)
    assert client.code not in page


def test_a_counsellor_sees_their_own_clients_only(workspace: World) -> None:
    mine = workspace.client_of(workspace.counsellor)
    theirs = workspace.client_of(workspace.colleague)
    mine_session = workspace.submit(mine, workspace.t0, RISKY)
    their_session = workspace.submit(theirs, workspace.t0, RISKY)
    workspace.sign_in(workspace.counsellor)
    for path in client_paths(mine.code, mine_session.public_id):
        assert workspace.browser.get(path).status_code == 200, path
    for path in client_paths(theirs.code, their_session.public_id):
        assert workspace.browser.get(path).status_code == 404, path
    dashboard = workspace.browser.get("/?status=all").get_data(as_text=True)
    assert mine.code in dashboard and theirs.code not in dashboard


def test_a_tampered_session_id_of_another_client_is_a_404(workspace: World) -> None:
    mine = workspace.client_of(workspace.counsellor)
    theirs = workspace.client_of(workspace.colleague)
    workspace.submit(mine, workspace.t0, RISKY)
    their_session = workspace.submit(theirs, workspace.t0, RISKY)
    workspace.sign_in(workspace.counsellor)
    assert (
        workspace.browser.get(
            f"/counsellor/clients/{mine.code}/sessions/{their_session.public_id}"
        ).status_code
        == 404
    )
    assert workspace.browser.get(f"/counsellor/clients/{mine.code}/sessions/not-a-session").status_code == 404


def test_a_site_lead_sees_the_whole_site_and_nothing_of_other_sites_or_organisations(
    workspace: World,
) -> None:
    at_site = workspace.client_of(workspace.colleague)
    unassigned = workspace.client_of(None)
    other_site = workspace.client_of(workspace.colleague, site=workspace.site_b)
    stranger = workspace.client_of(
        workspace.outsider, site=workspace.stranger_site, programme=workspace.stranger_programme
    )
    workspace.sign_in(workspace.lead)
    assert workspace.browser.get(f"/counsellor/clients/{at_site.code}").status_code == 200
    assert workspace.browser.get(f"/counsellor/clients/{unassigned.code}").status_code == 200
    assert workspace.browser.get(f"/counsellor/clients/{other_site.code}").status_code == 404
    assert workspace.browser.get(f"/counsellor/clients/{stranger.code}").status_code == 404
    dashboard = workspace.browser.get("/?status=all").get_data(as_text=True)
    assert at_site.code in dashboard and unassigned.code in dashboard
    assert other_site.code not in dashboard and stranger.code not in dashboard


def test_a_client_code_from_another_organisation_is_a_404_even_for_its_site_code(workspace: World) -> None:
    stranger = workspace.client_of(
        workspace.outsider, site=workspace.stranger_site, programme=workspace.stranger_programme
    )
    workspace.sign_in(workspace.counsellor)
    assert workspace.browser.get(f"/counsellor/clients/{stranger.code}").status_code == 404
    assert workspace.browser.get(f"/counsellor/clients/{stranger.code.lower()}").status_code == 404


def test_acknowledging_someone_elses_alert_is_a_404_and_changes_nothing(
    workspace: World, db: SQLAlchemy
) -> None:
    mine = workspace.client_of(workspace.counsellor)
    theirs = workspace.client_of(workspace.colleague)
    workspace.submit(mine, workspace.t0, RISKY)
    workspace.submit(theirs, workspace.t0, RISKY)
    their_flag = _flag_of(db, theirs)
    my_flag_id = _flag_of(db, mine)
    workspace.sign_in(workspace.counsellor)
    token = workspace.token()
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = workspace.browser.post(
        "/counsellor/alerts/acknowledge",
        data={"csrf_token": token, "alert": [str(my_flag_id), str(their_flag)], "note": "Called them."},
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AlertAcknowledgement)) == 0
    assert db.session.scalar(select(func.count()).where(ScoreFlag.acknowledged_at.is_not(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_changes_to_someone_elses_client_are_refused_and_nothing_changes(
    workspace: World, db: SQLAlchemy
) -> None:
    theirs = workspace.client_of(workspace.colleague)
    session = workspace.submit(theirs, workspace.t0, RISKY)
    workspace.sign_in(workspace.counsellor)
    token = workspace.token()
    base = f"/counsellor/clients/{theirs.code}"
    attempts = [
        (f"{base}/status", {"status": "withdrawn"}),
        (f"{base}/anchors", {"anchor_intake": "2020-01-01"}),
        (f"{base}/edit", {"preferred_language": "fr"}),
        (f"{base}/sessions/{session.public_id}/notes", {"body": "Not my client."}),
    ]
    for path, data in attempts:
        assert workspace.browser.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    db.session.expire_all()
    reloaded = db.session.get(Client, theirs.id)
    assert reloaded is not None
    assert (reloaded.status, reloaded.preferred_language) == ("active", "en")
    assert reloaded.intake_date == theirs.intake_date
    assert db.session.scalar(select(func.count()).select_from(SessionNote)) == 0


def test_state_changes_need_a_csrf_token(workspace: World, db: SQLAlchemy) -> None:
    mine = workspace.client_of(workspace.counsellor)
    workspace.sign_in(workspace.counsellor)
    response = workspace.browser.post(f"/counsellor/clients/{mine.code}/status", data={"status": "paused"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Client, mine.id).status == "active"  # type: ignore[union-attr]


def _flag_of(db: SQLAlchemy, client: Client) -> int:
    flag = db.session.scalar(
        select(ScoreFlag.id)
        .join(AssessmentSession, AssessmentSession.id == ScoreFlag.session_id)
        .where(AssessmentSession.client_id == client.id)
        .order_by(ScoreFlag.id)
        .limit(1)
    )
    assert flag is not None
    return flag
