"""Consent per purpose, in force at once; the court sees only what the client agreed to; views recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from survey_app.models import AuditEvent, ConsentRecord, CourtShare, StaffUser
from survey_app.models.base import utcnow
from survey_app.services import consent, sharing
from tests.security.conftest import FREE_TEXT, SCORE_VALUE, SHOWN_SCORE, CaseFile

Builder = Callable[..., Any]


def _liaison(make_staff: Builder, case_file: CaseFile) -> StaffUser:
    return make_staff("court_liaison", organisation=case_file.organisation)  # type: ignore[no-any-return]


def _grant_court(db: SQLAlchemy, case_file: CaseFile, **scopes: bool) -> None:
    consent.record_consent(db.session, case_file.client, "court", True, staff=case_file.counsellor, **scopes)
    db.session.flush()


def test_a_decision_is_in_force_at_once_and_history_is_kept(db: SQLAlchemy, case_file: CaseFile) -> None:
    client = case_file.client
    assert not consent.has_consent(db.session, client.id, "court")  # nothing recorded counts as no
    first = consent.record_consent(
        db.session, client, "court", True, share_scores=True, staff=case_file.counsellor
    )
    assert first is not None and first.text_version == consent.CONSENT_TEXT_VERSIONS["court"]
    assert consent.consent_for(db.session, client.id, "court").court_categories == ("attendance", "scores")
    assert consent.record_consent(db.session, client, "court", True, share_scores=True) is None  # unchanged
    consent.record_consent(db.session, client, "court", False, share_scores=True)
    state = consent.consent_for(db.session, client.id, "court")
    assert not state.granted and not state.share_scores and state.court_categories == ()
    assert [row.granted for row in consent.consent_history(db.session, client.id)] == [True, False]
    assert client.id not in set(db.session.scalars(consent.clients_with_consent("court")))
    consent.record_consent(db.session, client, "research", True)
    assert client.id in set(db.session.scalars(consent.clients_with_consent("research")))
    details = db.session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "consent.change")
    ).all()
    assert len(details) == 3 and all(set(item) >= {"purpose", "granted", "text_version"} for item in details)


def test_scores_can_only_be_shared_for_the_court(db: SQLAlchemy, case_file: CaseFile) -> None:
    with pytest.raises(consent.ConsentError):
        consent.record_consent(db.session, case_file.client, "research", True, share_scores=True)


def test_the_database_refuses_to_rewrite_consent_history(db: SQLAlchemy, case_file: CaseFile) -> None:
    _grant_court(db, case_file)
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("UPDATE consent_records SET granted = false"))
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("DELETE FROM consent_records"))


def test_the_database_refuses_to_rewrite_what_the_court_was_shown(
    db: SQLAlchemy, case_file: CaseFile, make_staff: Builder
) -> None:
    _grant_court(db, case_file)
    state = consent.consent_for(db.session, case_file.client.id, "court")
    report = sharing.build_court_report(
        db.session, case_file.client, state, today=utcnow().date(), timezone=dt.UTC
    )
    liaison = make_staff("court_liaison", organisation=case_file.organisation)
    sharing.record_court_share(db.session, case_file.client, report, liaison)
    db.session.flush()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("UPDATE court_shares SET categories = '[]'"))
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("DELETE FROM court_shares"))


def test_the_counsellor_records_consent_with_the_client(
    client: FlaskClient,
    db: SQLAlchemy,
    case_file: CaseFile,
    signed_in: Builder,
    csrf_token: Callable[..., str],
) -> None:
    code = case_file.client.code
    signed_in(client, case_file.counsellor)
    page = client.get(f"/consent/clients/{code}")
    assert page.status_code == 200 and "Not asked yet" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    form = {
        "care": "yes",
        "court": "yes",
        "court_scores": "y",
        "research": "no",
        "csrf_token": csrf_token(f"/consent/clients/{code}"),
    }
    refused = client.post(f"/consent/clients/{code}", data=form)  # without the client's confirmation
    assert refused.status_code == 400 and "client's own choices" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ConsentRecord)) == 0
    saved = client.post(f"/consent/clients/{code}", data={**form, "client_agreed": "y"})
    assert saved.status_code == 302
    states = consent.current_consents(db.session, case_file.client.id)
    assert states["care"].granted and not states["research"].granted and states["research"].record_id
    assert states["court"].court_categories == ("attendance", "scores")
    assert "Saved: 3 change(s)" in client.get(f"/consent/clients/{code}").get_data(as_text=True)
    assert client.post(f"/consent/clients/{code}", data={"care": "no"}).status_code == 400  # no CSRF token


def test_a_refused_consent_form_is_audited_like_the_consent_page(
    client: FlaskClient,
    db: SQLAlchemy,
    case_file: CaseFile,
    signed_in: Builder,
    csrf_token: Callable[..., str],
) -> None:
    code = case_file.client.code
    signed_in(client, case_file.counsellor)
    token = csrf_token(f"/consent/clients/{code}")
    views = select(AuditEvent).where(AuditEvent.action == "client.view").order_by(AuditEvent.id)
    before = len(db.session.scalars(views).all())
    refused = client.post(f"/consent/clients/{code}", data={"care": "yes", "csrf_token": token})
    assert refused.status_code == 400 and "Shared with the court" in refused.get_data(as_text=True)
    events = db.session.scalars(views).all()
    assert len(events) == before + 1 and events[-1].details == {"page": "consent"}


def test_another_counsellor_cannot_open_the_consent_page(
    client: FlaskClient, case_file: CaseFile, login_as: Builder
) -> None:
    login_as("counsellor", organisation=case_file.organisation, sites=[case_file.site])
    assert client.get(f"/consent/clients/{case_file.client.code}").status_code == 404
    assert client.get("/consent/clients/NOPE-0001").status_code == 404


def test_without_court_consent_the_liaison_sees_nothing(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder
) -> None:
    login_as("court_liaison", organisation=case_file.organisation)
    listing = client.get("/court/").get_data(as_text=True)
    assert case_file.client.code not in listing
    assert client.get(f"/court/clients/{case_file.client.code}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(CourtShare)) == 0


def test_by_default_the_court_sees_attendance_only(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder
) -> None:
    _grant_court(db, case_file)
    liaison = login_as("court_liaison", organisation=case_file.organisation)
    assert case_file.client.code in client.get("/court/").get_data(as_text=True)
    page = client.get(f"/court/clients/{case_file.client.code.lower()}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert body.count("completed on 2025-") == 2
    for hidden in (str(SCORE_VALUE), SHOWN_SCORE, "Scores", "Summary", FREE_TEXT, "Question q1", "option 2"):
        assert hidden not in body, hidden
    share = db.session.scalar(select(CourtShare))
    assert share is not None and share.shared_with == liaison.id and share.categories == ["attendance"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "court.share"))
    assert event is not None and event.details["categories"] == ["attendance"]


def test_scores_and_a_summary_only_where_consented_never_answers(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder
) -> None:
    _grant_court(db, case_file, share_scores=True, share_summary=True)
    login_as("court_liaison", organisation=case_file.organisation)
    body = client.get(f"/court/clients/{case_file.client.code}").get_data(as_text=True)
    assert SHOWN_SCORE in body and "Summary" in body
    for hidden in (FREE_TEXT, "Question q1", "option 2", "Anything else"):
        assert hidden not in body, hidden


def test_withdrawing_court_consent_stops_sharing_at_once(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder
) -> None:
    _grant_court(db, case_file, share_scores=True)
    login_as("court_liaison", organisation=case_file.organisation)
    assert client.get(f"/court/clients/{case_file.client.code}").status_code == 200
    consent.record_consent(db.session, case_file.client, "court", False)
    db.session.flush()
    assert client.get(f"/court/clients/{case_file.client.code}").status_code == 404


def test_a_liaison_of_another_organisation_or_site_sees_nothing(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder, make_site: Builder
) -> None:
    _grant_court(db, case_file)
    login_as("court_liaison", sites=[make_site(case_file.organisation)], organisation=case_file.organisation)
    assert client.get(f"/court/clients/{case_file.client.code}").status_code == 404
    assert case_file.client.code not in client.get("/court/").get_data(as_text=True)


def test_the_client_can_see_what_was_shared(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder, signed_in: Builder, app: Any
) -> None:
    _grant_court(db, case_file, share_summary=True)
    login_as("court_liaison", organisation=case_file.organisation)
    client.get(f"/court/clients/{case_file.client.code}")
    counsellor_view = signed_in(app.test_client(), case_file.counsellor)
    page = counsellor_view.get(f"/consent/clients/{case_file.client.code}").get_data(as_text=True)
    assert "attendance, summary" in page


def test_the_court_reads_the_timepoints_in_its_language(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder
) -> None:
    _grant_court(db, case_file, share_scores=True)
    for timepoint in case_file.client.programme.timepoints:
        timepoint.label_texts = {"en": timepoint.label, "fr": f"Mesure {timepoint.key}"}
    db.session.flush()
    login_as("court_liaison", organisation=case_file.organisation)
    page = f"/court/clients/{case_file.client.code}"
    french = client.get(page, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    keys = [timepoint.key for timepoint in case_file.client.programme.timepoints]
    assert all(f"Mesure {key}" in french for key in keys)  # attendance and the shared scores
    labels = [timepoint.label for timepoint in case_file.client.programme.timepoints]
    english = client.get(page, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert all(label in english for label in labels) and "Mesure" not in english


@pytest.mark.parametrize(
    ("language", "holds"), [("nl", "aanwezigheid, scores, samenvatting"), ("fr", "présence, scores, résumé")]
)
def test_the_court_list_says_what_each_report_holds_in_the_page_s_language(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder, language: str, holds: str
) -> None:
    _grant_court(db, case_file, share_scores=True, share_summary=True)
    login_as("court_liaison", organisation=case_file.organisation)
    listing = client.get("/court/", headers={"Accept-Language": language}).get_data(as_text=True)
    assert holds in listing and "attendance" not in listing


def _section(page: str, css_class: str) -> str:
    start = page.index(f'<ul class="{css_class}">')
    return page[start : page.index("</ul>", start)]


def test_the_consent_page_gives_purposes_shares_and_times_in_the_page_s_language_and_timezone(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder, signed_in: Builder, app: Any
) -> None:
    from zoneinfo import ZoneInfo

    _grant_court(db, case_file, share_summary=True)
    login_as("court_liaison", organisation=case_file.organisation)
    client.get(f"/court/clients/{case_file.client.code}")
    counsellor_view = signed_in(app.test_client(), case_file.counsellor)
    page = counsellor_view.get(
        f"/consent/clients/{case_file.client.code}", headers={"Accept-Language": "nl"}
    ).get_data(as_text=True)
    shared, history = _section(page, "disclosures"), _section(page, "consent-history")
    assert "aanwezigheid, samenvatting" in shared and "attendance" not in shared
    assert "Voortgangsrapport voor de rechtbank = ja" in history and "court =" not in history
    (share,) = sharing.court_disclosures(db.session, case_file.client.id)
    local = share.shared_at.astimezone(ZoneInfo("Europe/Brussels"))
    assert f"{local:%H:%M}" in shared and f"{share.shared_at.astimezone(dt.UTC):%H:%M}" not in shared


def test_the_court_dates_the_consent_by_the_day_it_was_given_where_the_programme_runs(
    client: FlaskClient, db: SQLAlchemy, case_file: CaseFile, login_as: Builder
) -> None:
    just_after_midnight = dt.datetime(2026, 1, 5, 23, 30, tzinfo=dt.UTC)  # 00:30 on 6 January in Brussels
    consent.record_consent(
        db.session, case_file.client, "court", True, staff=case_file.counsellor, now=just_after_midnight
    )
    db.session.flush()
    login_as("court_liaison", organisation=case_file.organisation)
    page = client.get(f"/court/clients/{case_file.client.code}").get_data(as_text=True)
    assert "consent of Jan 6, 2026 00:30" in page and "2026-01-05" not in page


def test_the_decision_in_force_at_a_moment_is_the_last_one_recorded_by_then(
    db: SQLAlchemy, case_file: CaseFile
) -> None:
    client, day = case_file.client, dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    consent.record_consent(db.session, client, "research", True, now=day)
    consent.record_consent(db.session, client, "research", False, now=day + dt.timedelta(days=10))
    consent.record_consent(db.session, client, "research", True, now=day + dt.timedelta(days=20))
    db.session.flush()

    def consenting(days: int) -> bool:
        at = day + dt.timedelta(days=days)
        return client.id in set(db.session.scalars(consent.clients_with_consent("research", at=at)))

    assert [consenting(days) for days in (-1, 0, 9, 10, 19, 20, 30)] == [
        False, True, True, False, False, True, True
    ]  # fmt: skip
    assert client.id not in set(db.session.scalars(consent.clients_with_consent("court", at=day)))
