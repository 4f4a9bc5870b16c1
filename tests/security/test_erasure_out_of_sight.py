"""After erasure, what is kept for research is for research only: the court and the staff no longer see it.

Erasure keeps a client's pseudonymised sessions, scores and flags (under a recorded legal basis and the
client's research consent), the consent history and the court disclosures, all still linked to the client
at the same site. None of that may reach the court's pages or any staff screen: the liaison's list and
report, the caseload, the client and session pages, the dashboard's alerts, consent page, reports, report
batches and the hand-over. The research exports' selection still finds the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import AlertRecipient, Client, CourtShare, ScoreFlag
from survey_app.models.base import utcnow
from survey_app.services import consent
from survey_app.services.exports.selection import research_consent_clause
from survey_app.services.gdpr import erase_client
from survey_app.services.report_batches import BatchFilter, select_jobs
from survey_app.services.retention import set_privacy_settings
from survey_app.web.access import visible_clients
from tests.security.conftest import SCORE_VALUE, CaseFile

Builder = Callable[..., Any]
SignIn = Callable[..., FlaskClient]


@pytest.fixture
def erased(db: SQLAlchemy, case_file: CaseFile) -> CaseFile:
    """The case file's client, erased under a recorded research basis: sessions, scores and flag stay.

    Before erasure the client consented to court reports (scores too) and to research, and had an open
    urgent alert.
    """
    client = case_file.client
    consent.record_consent(
        db.session, client, "court", True, share_scores=True, share_summary=True, staff=case_file.counsellor
    )
    consent.record_consent(db.session, client, "research", True, staff=case_file.counsellor)
    set_privacy_settings(
        db.session,
        case_file.organisation,
        retention_months=None,
        research_legal_basis="DPIA 2026-03, art. 89",
    )
    db.session.add(
        ScoreFlag(
            session_id=case_file.sessions[0].id,
            questionnaire_version_id=case_file.version.id,
            flag_id="risk",
            severity="urgent",
        )
    )
    db.session.flush()
    report = erase_client(db.session, client, reason="request")
    db.session.flush()
    assert report.research_data_kept and client.code.startswith("ERASED-")
    assert client.site_id == case_file.site.id  # still at the site: the erasure row is what tells
    return case_file


def _consenting_neighbour(db: SQLAlchemy, case_file: CaseFile, make_client: Builder) -> Client:
    """Another client of the same site and counsellor who consents to court reports (not erased)."""
    neighbour: Client = make_client(
        site=case_file.site, programme=case_file.programme, counsellor=case_file.counsellor
    )
    consent.record_consent(db.session, neighbour, "court", True, staff=case_file.counsellor)
    db.session.flush()
    return neighbour


def test_the_court_neither_lists_nor_reports_an_erased_client(
    client: FlaskClient, db: SQLAlchemy, erased: CaseFile, make_client: Builder, login_as: Builder
) -> None:
    neighbour = _consenting_neighbour(db, erased, make_client)
    code = erased.client.code
    assert consent.has_consent(db.session, erased.client.id, "court")  # the history stays in force
    login_as("court_liaison", organisation=erased.organisation)
    listing = client.get("/court/").get_data(as_text=True)
    assert code not in listing and neighbour.code in listing
    report = client.get(f"/court/clients/{code}")
    assert report.status_code == 404 and str(SCORE_VALUE) not in report.get_data(as_text=True)
    shares = select(func.count()).select_from(CourtShare).where(CourtShare.client_id == erased.client.id)
    assert db.session.scalar(shares) == 0
    assert client.get(f"/court/clients/{neighbour.code}").status_code == 200


def test_the_staff_of_the_site_no_longer_reach_an_erased_client(
    app: Flask, client: FlaskClient, db: SQLAlchemy, erased: CaseFile, make_staff: Builder, signed_in: SignIn
) -> None:
    lead = make_staff("site_lead", organisation=erased.organisation, sites=[erased.site])
    signed_in(client, lead)
    code, public_id = erased.client.code, erased.sessions[0].public_id
    for path in (
        f"/counsellor/clients/{code}",
        f"/counsellor/clients/{code}/sessions/{public_id}",
        f"/counsellor/clients/{code}/edit",
        f"/consent/clients/{code}",
        f"/reports/clients/{code}",
        f"/reports/clients/{code}/counsellor.pdf",
        f"/reports/clients/{code}/client",
        f"/reports/clients/{code}/sessions/{public_id}/record.pdf",
    ):
        assert client.get(path).status_code == 404, path
    dashboard = client.get("/?status=all").get_data(as_text=True)
    assert code not in dashboard  # neither in the caseload nor among the alerts (it has no counsellor now)
    token = _csrf(client)
    flag = db.session.scalar(select(ScoreFlag.id).where(ScoreFlag.session_id == erased.sessions[0].id))
    acknowledged = client.post(
        "/counsellor/alerts/acknowledge",
        data={"csrf_token": token, "alert": str(flag), "note": "Seen", "next": "/"},
    )
    assert acknowledged.status_code == 404
    handed = client.post(f"/client-mode/start/{code}", data={"csrf_token": token, "return_to": "/"})
    assert handed.status_code == 404
    with app.test_request_context():
        jobs = select_jobs(
            db.session, visible_clients(lead), "counsellor", BatchFilter(site_id=erased.site.id)
        )
    assert erased.client.id not in {job.client_id for job in jobs}


def test_an_alert_recipient_of_every_site_no_longer_reaches_an_erased_client(
    client: FlaskClient,
    db: SQLAlchemy,
    erased: CaseFile,
    make_site: Builder,
    make_staff: Builder,
    signed_in: SignIn,
) -> None:
    elsewhere = make_site(erased.organisation)
    colleague = make_staff("counsellor", organisation=erased.organisation, sites=[elsewhere])
    db.session.add(
        AlertRecipient(
            organisation_id=erased.organisation.id, staff_user_id=colleague.id, site_id=None, severities="all"
        )
    )
    db.session.flush()
    signed_in(client, colleague)
    assert client.get(f"/counsellor/clients/{erased.client.code}").status_code == 404
    assert erased.client.code not in client.get("/").get_data(as_text=True)


def test_the_research_exports_still_select_what_erasure_kept(db: SQLAlchemy, erased: CaseFile) -> None:
    selected = select(Client.id).where(Client.id == erased.client.id, research_consent_clause(utcnow()))
    assert db.session.scalar(selected) == erased.client.id


def _csrf(client: FlaskClient) -> str:
    """A CSRF token from the signed-in staff member's dashboard."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/").get_data(as_text=True))
    assert match
    return match.group(1)
