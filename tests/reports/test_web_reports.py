"""The report pages: who may print what (per object), the audit of every report, the client report's preview,
the links from the workspace, the names setting, and a batch with its progress and ZIP."""

from __future__ import annotations

import datetime as dt
import html
import io
import zipfile

import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AuditEvent, Client, ClientIdentity, ReportBatch
from survey_app.services.caseload import scope_of
from survey_app.services.client_moves import move_client
from tests.counsellor.conftest import World, phq9, who5
from tests.reports.conftest import pdf_text

ANSWERS = {"who5": who5(2, 3, 2, 3, 2), "phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)}


def report_paths(code: str, public_id: str) -> list[str]:
    return [
        f"/reports/clients/{code}",
        f"/reports/clients/{code}/counsellor.pdf",
        f"/reports/clients/{code}/client",
        f"/reports/clients/{code}/client.pdf",
        f"/reports/clients/{code}/sessions/{public_id}/record.pdf",
    ]


def test_visitors_go_to_sign_in_and_other_roles_get_nothing(workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, ANSWERS)
    for path in [*report_paths(client.code, session.public_id), "/reports/batches", "/reports/settings"]:
        response = workspace.browser.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/sign-in"), path
    for role in ("researcher", "liaison", "admin"):
        workspace.sign_in(getattr(workspace, role))
        for path in [*report_paths(client.code, session.public_id), "/reports/batches"]:
            assert workspace.browser.get(path).status_code == 403, (role, path)


@pytest.mark.parametrize("who", ["colleague", "lead_b", "outsider"])
def test_someone_elses_client_is_a_404(workspace: World, who: str) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, ANSWERS)
    workspace.sign_in(getattr(workspace, who))
    for path in report_paths(client.code, session.public_id):
        assert workspace.browser.get(path).status_code == 404, path
    other = workspace.client_of(workspace.counsellor)
    workspace.sign_in(workspace.counsellor)
    assert (
        workspace.browser.get(
            f"/reports/clients/{other.code}/sessions/{session.public_id}/record.pdf"
        ).status_code
        == 404
    )


def test_the_counsellor_prints_every_kind_and_each_is_audited(db: SQLAlchemy, workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, ANSWERS)
    workspace.sign_in(workspace.counsellor)
    listing = workspace.browser.get(f"/reports/clients/{client.code}").get_data(as_text=True)
    assert f"/reports/clients/{client.code}/counsellor.pdf" in listing and session.public_id in listing
    for kind, path in (
        ("counsellor", "counsellor.pdf"),
        ("client", "client.pdf"),
        ("record", f"sessions/{session.public_id}/record.pdf"),
    ):
        response = workspace.browser.get(f"/reports/clients/{client.code}/{path}")
        assert response.status_code == 200 and response.mimetype == "application/pdf", kind
        assert response.headers["Cache-Control"] == "no-store"
        assert client.code in pdf_text(response.data)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(client.id))).all()
    renders = [event for event in events if event.action == "report.render"]
    assert sorted(event.details["kind"] for event in renders) == ["client", "counsellor", "record"]
    assert {event.actor_id for event in renders} == {workspace.counsellor.id}
    pages = {event.details.get("page") for event in events if event.action == "client.view"}
    assert {"reports", "report_counsellor", "report_client", "report_record"} <= pages
    for event in renders:  # ids, kind and language only: no scores, answers or names
        assert set(event.details) <= {"kind", "language", "via", "session", "batch"}


def test_the_client_report_preview_is_in_the_clients_language(db: SQLAlchemy, workspace: World) -> None:
    client = workspace.client_of(workspace.lead and workspace.counsellor)
    client.preferred_language = "fr"
    workspace.submit(client, workspace.t0, ANSWERS)
    workspace.sign_in(workspace.lead)  # the site lead sees every client of the site
    page = workspace.browser.get(f"/reports/clients/{client.code}/client").get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert "Mon rapport de progression" in page
    assert "Preview of the client's report" in page  # the bar stays in the counsellor's language
    assert f"/reports/clients/{client.code}/client.pdf?lang=fr" in page
    assert "style=" not in page and "<script" not in page  # the page keeps the strict CSP
    dutch = workspace.browser.get(f"/reports/clients/{client.code}/client?lang=nl").get_data(as_text=True)
    assert '<html lang="nl"' in dutch


def test_the_workspace_links_to_the_reports(workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, ANSWERS)
    workspace.sign_in(workspace.counsellor)
    page = workspace.browser.get(f"/counsellor/clients/{client.code}").get_data(as_text=True)
    assert f'href="/reports/clients/{client.code}"' in page and 'href="/reports/batches"' in page
    answers = workspace.browser.get(f"/counsellor/clients/{client.code}/sessions/{session.public_id}")
    assert f"/reports/clients/{client.code}/sessions/{session.public_id}/record.pdf" in answers.get_data(
        as_text=True
    )


def test_names_need_the_organisation_setting(db: SQLAlchemy, workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    db.session.add(ClientIdentity(client_id=client.id, given_name="Yasmina", family_name="Benali"))
    workspace.submit(client, workspace.t0, ANSWERS)
    workspace.sign_in(workspace.counsellor)
    path = f"/reports/clients/{client.code}/counsellor.pdf"
    assert "Benali" not in pdf_text(workspace.browser.get(path).data)
    assert workspace.browser.get("/reports/settings").status_code == 403  # an organisation setting
    workspace.sign_in(workspace.admin)
    token = workspace.token("/reports/settings")
    response = workspace.browser.post("/reports/settings", data={"csrf_token": token, "show_names": "y"})
    assert response.status_code == 302
    workspace.sign_in(workspace.counsellor)
    assert "Yasmina Benali" in pdf_text(workspace.browser.get(path).data)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.settings")) is not None


def test_a_batch_shows_progress_and_gives_one_zip(db: SQLAlchemy, workspace: World) -> None:
    first, second = workspace.client_of(workspace.counsellor), workspace.client_of(workspace.counsellor)
    hidden = workspace.client_of(workspace.colleague)
    for client in (first, second, hidden):
        workspace.submit(client, workspace.t3m, ANSWERS)
    workspace.sign_in(workspace.counsellor)
    token = workspace.token("/reports/batches")
    response = workspace.browser.post(
        "/reports/batches",
        data={"csrf_token": token, "kind": "counsellor", "language": "en", "timepoint": "t3m"},
    )
    assert response.status_code == 302
    page = workspace.browser.get(response.headers["Location"])
    assert page.status_code == 200 and "report_batch.js" in page.get_data(as_text=True)
    batch = db.session.scalar(select(ReportBatch).order_by(ReportBatch.id.desc()))
    assert batch is not None
    status = workspace.browser.get(f"/reports/batches/{batch.public_id}/status").get_json()
    assert (
        status["status"] == "done"
        and status["done"] == 2
        and status["total"] == 2
        and status["percent"] == 100
    )
    with workspace.browser.get(status["download_url"]) as download:
        assert download.mimetype == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert sorted(archive.namelist()) == sorted(
        [f"{first.code}_counsellor_en.pdf", f"{second.code}_counsellor_en.pdf", "index.csv"]
    )
    assert hidden.code not in archive.read("index.csv").decode()
    workspace.sign_in(workspace.colleague)  # a batch is its maker's only
    assert workspace.browser.get(f"/reports/batches/{batch.public_id}").status_code == 404
    assert workspace.browser.get(status["download_url"]).status_code == 404


def test_a_batch_with_nothing_to_make_says_so(workspace: World) -> None:
    workspace.sign_in(workspace.counsellor)
    token = workspace.token("/reports/batches")
    response = workspace.browser.post(
        "/reports/batches",
        data={"csrf_token": token, "kind": "client", "start": "2030-01-01", "end": "2029-01-01"},
    )
    assert response.status_code == 422
    assert "start date is after the end date" in response.get_data(as_text=True)
    response = workspace.browser.post("/reports/batches", data={"csrf_token": token, "kind": "client"})
    assert response.status_code == 422 and "nothing to make" in response.get_data(as_text=True)


def _batch_of_site_a(db: SQLAlchemy, workspace: World) -> ReportBatch:
    """The site lead of site A makes a batch of the 3-month reports of two of its clients."""
    for client in (workspace.client_of(workspace.counsellor), workspace.client_of(workspace.colleague)):
        workspace.submit(client, workspace.t3m, ANSWERS)
    workspace.sign_in(workspace.lead)
    token = workspace.token("/reports/batches")
    response = workspace.browser.post(
        "/reports/batches",
        data={"csrf_token": token, "kind": "counsellor", "language": "en", "timepoint": "t3m"},
    )
    assert response.status_code == 302
    batch = db.session.scalar(select(ReportBatch).order_by(ReportBatch.id.desc()))
    assert batch is not None and batch.total == 2
    return batch


def test_a_batch_made_before_a_client_moved_away_is_refused_to_the_old_site_s_lead(
    db: SQLAlchemy, workspace: World
) -> None:
    batch = _batch_of_site_a(db, workspace)
    download = f"/reports/batches/{batch.public_id}/download"
    with workspace.browser.get(download) as first:
        assert first.mimetype == "application/zip"  # every client is still in sight
    moving = db.session.scalars(select(Client).where(Client.counsellor_id == workspace.counsellor.id)).one()
    workspace.counsellor.sites = [workspace.site_a, workspace.site_b]
    scope = scope_of(db.session, workspace.counsellor)
    move_client(db.session, scope, moving, workspace.site_b.id, workspace.counsellor.id)
    db.session.commit()

    refused = workspace.browser.get(download)
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    assert "clients you no longer see" in html.unescape(refused.get_data(as_text=True))
    dutch = workspace.browser.get(download, headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "cliënten die u niet meer ziet" in html.unescape(dutch)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "report.batch_download_refused")
    ).all()
    assert len(events) == 2 and events[0].actor_id == workspace.lead.id
    assert events[0].details == {"reason": "clients_out_of_sight", "reports": 2}
    assert events[0].ip == "127.0.0.1"
    for page in (f"/reports/batches/{batch.public_id}", "/reports/batches"):  # no link to a refusal
        shown = html.unescape(workspace.browser.get(page).get_data(as_text=True))
        assert download not in shown and "clients you no longer see" in shown
    status = workspace.browser.get(f"/reports/batches/{batch.public_id}/status").get_json()
    assert status["download_url"] is None and "clients you no longer see" in status["refusal"]


def test_a_batch_takes_submission_dates_as_the_pages_show_them(db: SQLAlchemy, workspace: World) -> None:
    after_midnight, at_noon, next_night = (workspace.client_of(workspace.counsellor) for _ in range(3))
    # Brussels is UTC+1 in winter: 23:30 UTC on 30 November is 00:30 on 1 December on every page.
    workspace.submit(
        after_midnight, workspace.t3m, ANSWERS, when=dt.datetime(2025, 11, 30, 23, 30, tzinfo=dt.UTC)
    )
    workspace.submit(at_noon, workspace.t3m, ANSWERS, when=dt.datetime(2025, 12, 1, 12, 0, tzinfo=dt.UTC))
    workspace.submit(next_night, workspace.t3m, ANSWERS, when=dt.datetime(2025, 12, 1, 23, 30, tzinfo=dt.UTC))
    workspace.sign_in(workspace.counsellor)
    token = workspace.token("/reports/batches")
    response = workspace.browser.post(
        "/reports/batches",
        data={
            "csrf_token": token,
            "kind": "counsellor",
            "language": "en",
            "start": "2025-12-01",
            "end": "2025-12-01",
        },
    )
    assert response.status_code == 302
    batch = db.session.scalar(select(ReportBatch).order_by(ReportBatch.id.desc()))
    assert batch is not None
    assert sorted(batch.client_ids) == sorted([after_midnight.id, at_noon.id])


def test_a_record_is_named_by_the_day_its_session_was_submitted_there(workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    # 23:30 UTC on 30 November is 00:30 on 1 December in Brussels, the day the record itself gives.
    session = workspace.submit(
        client, workspace.t3m, ANSWERS, when=dt.datetime(2025, 11, 30, 23, 30, tzinfo=dt.UTC)
    )
    workspace.sign_in(workspace.counsellor)
    response = workspace.browser.get(
        f"/reports/clients/{client.code}/sessions/{session.public_id}/record.pdf"
    )
    assert response.status_code == 200
    assert f"_record_t3m_2025-12-01_{session.public_id[:8]}_" in response.headers["Content-Disposition"]
    token = workspace.token("/reports/batches")
    response = workspace.browser.post(
        "/reports/batches", data={"csrf_token": token, "kind": "record", "language": "en", "timepoint": "t3m"}
    )
    status = workspace.browser.get(f"{response.headers['Location']}/status").get_json()
    with workspace.browser.get(status["download_url"]) as download:
        names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert f"{client.code}_record_t3m_2025-12-01_{session.public_id[:8]}_en.pdf" in names
