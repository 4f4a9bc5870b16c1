"""Handing questionnaires over: who may, which timepoint, a fresh session, and staff pages refused."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from survey_app.models import (
    AssessmentSession,
    AuditEvent,
    ClientAccessCode,
    ClientModeSession,
    StaffSession,
    StaffUser,
    Submission,
    Timepoint,
)
from survey_app.models.base import utcnow
from survey_app.web.client.guard import CLIENT_MODE_KEY, refuse_client_mode
from tests.client.fixtures import page_csrf, sign_in
from tests.client.support import TabletWorld


def _post_start(client: FlaskClient, world: TabletWorld, **form: str) -> TestResponse:
    data = {"csrf_token": page_csrf(client), **form}
    return client.post(f"/client-mode/start/{world.client.code}", data=data)


def test_the_counsellor_hands_over_and_the_browser_gets_a_new_session(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    staff_token = sign_in(client, db, world.counsellor)
    response = _post_start(client, world, return_to="/counsellor/clients/X")
    assert response.status_code == 302 and response.location.endswith("/client/")
    with client.session_transaction() as session:
        assert "_user_id" not in session and "csrf_token" not in session  # nothing of the staff session
        assert set(session) <= {CLIENT_MODE_KEY, "language"}
        token = session[CLIENT_MODE_KEY]
    row = db.session.scalar(select(ClientModeSession))
    assert row is not None and row.via == "tablet" and row.started_by == world.counsellor.id
    assert row.token_hash != token and len(row.token_hash) == 64
    assert row.return_path == "/counsellor/clients/X"
    parked = db.session.get(StaffSession, row.staff_session_id)
    assert parked is not None and parked.revoked_at is None
    assessment = row.assessment
    assert assessment.timepoint_id == world.timepoints[0].id and assessment.mode == "tablet"
    assert [given.questionnaire_version.key for given in assessment.questionnaires] == ["who5", "tablet_form"]
    assert staff_token not in client.get("/client/").get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "session.start" in events and "client_mode.start" in events


def test_a_second_hand_over_resumes_the_open_session(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Callable[..., AssessmentSession]
) -> None:
    first = hand_over()
    again = hand_over()
    assert again.public_id == first.public_id
    assert db.session.scalar(select(func.count()).select_from(AssessmentSession)) == 1


def test_the_default_timepoint_is_the_earliest_without_a_submitted_session(
    db: SQLAlchemy, world: TabletWorld, hand_over: Callable[..., AssessmentSession]
) -> None:
    first = hand_over()
    first.status, first.submitted_at = "submitted", utcnow()
    db.session.add(Submission(session_id=first.id, idempotency_key="k" * 20, payload_hash="0" * 64))
    db.session.flush()
    second = hand_over()
    assert second.timepoint_id == world.timepoints[1].id


def test_an_explicit_timepoint_is_used_and_must_belong_to_the_programme(
    client: FlaskClient,
    db: SQLAlchemy,
    world: TabletWorld,
    hand_over: Callable[..., AssessmentSession],
    make_timepoint: Callable[..., Timepoint],
) -> None:
    later = hand_over(timepoint_id=str(world.timepoints[1].id))
    assert later.timepoint_id == world.timepoints[1].id
    foreign = make_timepoint()
    sign_in(client, db, world.counsellor)
    for value in (str(foreign.id), "abc", "999999"):
        response = _post_start(client, world, timepoint_id=value)
        assert response.status_code == 404  # a tampered timepoint id: not found, and nothing is started
        assert "not part of this client" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ClientModeSession)) == 1


def test_a_submitted_timepoint_cannot_be_handed_over_again(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Callable[..., AssessmentSession]
) -> None:
    first = hand_over()
    first.status, first.submitted_at = "submitted", utcnow()
    db.session.flush()
    sign_in(client, db, world.counsellor)
    response = _post_start(client, world, timepoint_id=str(world.timepoints[0].id))
    assert response.status_code == 409
    assert "already been sent" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "same_site", "expected"),
    [
        ("counsellor", True, 404),  # not the client's counsellor
        ("site_lead", True, 302),
        ("site_lead", False, 404),
        ("admin", True, 403),  # admins see no client data, and client mode shows the answers so far
        ("researcher", True, 403),
        ("court_liaison", True, 403),
    ],
)
def test_only_staff_who_may_see_the_client_can_hand_over(
    client: FlaskClient,
    db: SQLAlchemy,
    world: TabletWorld,
    make_staff: Callable[..., StaffUser],
    make_site: Callable[..., object],
    role: str,
    same_site: bool,
    expected: int,
) -> None:
    sites = [world.site] if same_site else [make_site(world.organisation)]
    organisation = world.organisation if same_site or role != "admin" else None
    user = make_staff(role=role, organisation=organisation, sites=sites)
    sign_in(client, db, user)
    assert _post_start(client, world).status_code == expected
    if expected != 302:
        assert db.session.scalar(select(func.count()).select_from(AssessmentSession)) == 0


def test_a_site_lead_of_another_organisation_gets_nothing(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, make_staff: Callable[..., StaffUser]
) -> None:
    sign_in(client, db, make_staff(role="site_lead", sites=[world.site]))
    assert _post_start(client, world).status_code == 404


def test_signed_out_browsers_are_sent_to_sign_in(client: FlaskClient, world: TabletWorld) -> None:
    response = _post_start(client, world)
    assert response.status_code == 302 and "/auth/sign-in" in response.location


def test_a_browser_in_client_mode_reaches_no_staff_page(
    app: Flask, client: FlaskClient, hand_over: Callable[..., AssessmentSession]
) -> None:
    hand_over()
    for path in ("/", "/auth/sign-in", "/counsellor/clients/TAB-X", "/no-such-page", "/client-mode/start/X"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/client/"), path
    assert client.post("/client-mode/code/X").status_code in (302, 400)
    with app.test_request_context("/counsellor/"):
        from flask import session

        session[CLIENT_MODE_KEY] = "token"
        refused = refuse_client_mode()
        assert refused is not None and refused.status_code == 302
    with app.test_request_context("/api/v1/other"):
        from flask import session

        session[CLIENT_MODE_KEY] = "token"
        refused = refuse_client_mode()
        assert refused is not None and refused.status_code == 403
    with app.test_request_context("/counsellor/"):
        assert refuse_client_mode() is None


def test_the_phone_code_page_shows_the_code_and_a_qr_code_once(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    sign_in(client, db, world.counsellor)
    response = client.post(
        f"/client-mode/code/{world.client.code}",
        data={"csrf_token": page_csrf(client), "return_to": "/counsellor/clients/X"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    code = re.search(r'class="code-issued-code"[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})<', page)
    assert code, page
    assert 'src="data:image/svg+xml' in page and "/client/start" in page
    row = db.session.scalar(select(ClientAccessCode))
    assert row is not None and code.group(1).replace("-", "") not in (row.code_hash, row.link_hash)
    assessment = db.session.get(AssessmentSession, row.assessment_session_id)
    assert assessment is not None and assessment.mode == "own_device"
    with client.session_transaction() as session:
        assert "_user_id" in session and CLIENT_MODE_KEY not in session  # the counsellor stays signed in


def test_the_hand_over_partial_renders_both_buttons_with_csrf(
    app: Flask, db: SQLAlchemy, world: TabletWorld
) -> None:
    with app.test_request_context("/counsellor/clients/X"):
        html = render_template(
            "client/_hand_over.html",
            client=world.client,
            timepoint=world.timepoints[1],
            optional_questionnaires=[("fisi", "FISI")],
        )
    assert f'action="/client-mode/start/{world.client.code}"' in html
    assert f'formaction="/client-mode/code/{world.client.code}"' in html
    assert 'name="csrf_token"' in html and f'name="timepoint_id" value="{world.timepoints[1].id}"' in html
    assert (
        'name="return_to" value="/counsellor/clients/X"' in html and 'name="leave_out" value="fisi"' in html
    )


def test_a_refused_start_is_worded_in_the_counsellors_language_with_the_timepoints_own_name(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld
) -> None:
    first = world.timepoints[0]
    first.label_texts = {"en": "Intake", "nl": "Instroom", "fr": "Admission"}
    db.session.flush()
    sign_in(client, db, world.counsellor)
    data = {"csrf_token": page_csrf(client), "timepoint_id": str(first.id), "leave_out": "who5"}
    response = client.post(
        f"/client-mode/start/{world.client.code}", data=data, headers={"Accept-Language": "nl"}
    )
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "De sessie kan niet starten: who5 is een kernvragenlijst bij Instroom" in text
    assert "is core at" not in text
    assert db.session.scalar(select(func.count()).select_from(AssessmentSession)) == 0
