"""A client's page: timeline, charts, reliable change, domain profile, answers as seen, notes."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.extensions import db as _db
from survey_app.i18n import timezone, today
from survey_app.models import (
    AssessmentSession,
    AuditEvent,
    QuestionnaireVersion,
    SessionNote,
    TimepointQuestionnaire,
)
from survey_app.questionnaires.loader import content_hash
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.reports.wording import ReportWords
from survey_app.services.consent import consent_for, record_consent
from survey_app.services.sharing import build_court_report
from survey_app.web.counsellor import wording
from tests.conftest import PROJECT_ROOT
from tests.counsellor.conftest import TODAY, World, bank_version, phq9, who5

LOW = {"who5": who5(1, 1, 2, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 0)}  # WHO-5 24%, PHQ-9 16
HIGH = {"who5": who5(4, 4, 4, 4, 4), "phq9": phq9(0, 1, 0, 1, 0, 0, 0, 0, 0)}  # WHO-5 80%, PHQ-9 2


def at(days_after_intake: int, intake: dt.date) -> dt.datetime:
    return dt.datetime.combine(intake + dt.timedelta(days=days_after_intake), dt.time(10), dt.UTC)


def who5_v2(db: SQLAlchemy, *, comparable: bool) -> QuestionnaireVersion:
    """WHO-5 published again as version 2, declared comparable with v1 or not."""
    source = (PROJECT_ROOT / "questionnaires" / "who5" / "v1.yaml").read_text(encoding="utf-8")
    source = source.replace("\nversion: 1\n", "\nversion: 2\n", 1)
    if comparable:
        source += "comparable_with:\n  - version: 1\n    note: Layout only.\n"
    row = QuestionnaireVersion(
        key="who5",
        version=2,
        content_hash=content_hash(source.encode("utf-8")),
        source_yaml=source,
        snapshot=read_yaml(source).data,
        title="WHO-5 v2",
    )
    db.session.add(row)
    db.session.flush()
    return row


def page_of(world: World, code: str) -> str:
    response = world.browser.get(f"/counsellor/clients/{code}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}".*?</section>', page, re.S)
    assert match, anchor
    return match.group(0)


def test_the_timeline_shows_each_timepoint_with_its_state(workspace: World) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(2, intake))
    workspace.sign_in(workspace.counsellor)
    timeline = section(page_of(workspace, client.code), "timeline")
    assert re.search(r"Intake</h3>\s*<p><span class=\"state state-completed\">", timeline)
    assert re.search(r"3 months</h3>\s*<p><span class=\"state state-overdue\">", timeline)
    assert re.search(r"6 months</h3>\s*<p><span class=\"state state-upcoming\">", timeline)


def test_scores_are_charted_with_bands_and_the_change_is_classified(workspace: World) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(client, workspace.t3m, HIGH, when=at(92, intake))
    workspace.sign_in(workspace.counsellor)
    scores = section(page_of(workspace, client.code), "scores")
    assert scores.count('<svg xmlns="http://www.w3.org/2000/svg" class="score-chart" role="img"') >= 3
    assert '<title id="chart-who5-percentage-title">' in scores
    assert "low well-being" in scores.lower()
    # WHO-5 24% -> 80%: RCI = 56 / (sqrt(2) * 19.5 * sqrt(0.19)) = 4.66; crossed the cut-off of 52.
    assert "Reliable improvement into the healthy range: recovered (RCI 4.66)." in scores
    # PHQ-9 has no published reliability parameters in the bank: the page says so, it never guesses.
    assert "\u221214: better. RCI not available for this scale." in scores  # 16 -> 2, lower is better


def test_a_missed_wave_is_a_gap_in_the_chart(workspace: World) -> None:
    intake = TODAY - dt.timedelta(days=200)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(client, workspace.t6m, HIGH, when=at(183, intake))
    workspace.sign_in(workspace.counsellor)
    page = page_of(workspace, client.code)
    assert 'class="chart-missed"' in page
    desc = re.search(r'<desc id="chart-who5-percentage-desc">(.*?)</desc>', page, re.S)
    assert desc and "3 months" in desc.group(1) and "missed" in desc.group(1)


def test_a_version_not_declared_comparable_breaks_the_series_and_is_not_compared(
    workspace: World, db: SQLAlchemy
) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(
        client, workspace.t3m, HIGH, when=at(92, intake), versions={"who5": who5_v2(db, comparable=False)}
    )
    workspace.sign_in(workspace.counsellor)
    page = page_of(workspace, client.code)
    assert 'class="chart-break"' in page
    assert "Not compared: the questionnaire changed version" in page
    assert "not comparable with the score before" in page


def test_a_version_declared_comparable_is_joined(workspace: World, db: SQLAlchemy) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(
        client, workspace.t3m, HIGH, when=at(92, intake), versions={"who5": who5_v2(db, comparable=True)}
    )
    workspace.sign_in(workspace.counsellor)
    page = page_of(workspace, client.code)
    assert 'class="chart-break"' not in page
    assert "recovered (RCI 4.66)" in page


def test_the_domain_profile_puts_intake_beside_latest_in_plain_words(workspace: World) -> None:
    intake = TODAY - dt.timedelta(days=100)
    client = workspace.client_of(workspace.counsellor, intake=intake)
    workspace.submit(client, workspace.t0, LOW, when=at(1, intake))
    workspace.submit(client, workspace.t3m, HIGH, when=at(92, intake))
    workspace.sign_in(workspace.counsellor)
    profile = section(page_of(workspace, client.code), "profile")
    for heading in ("Personal life", "Social life", "Community life", "Recovery capital"):
        assert heading in profile
    assert "<td>24 <span" in profile and "<td>80 <span" in profile  # WHO-5 %: the bands are on the raw score
    assert "16 (Moderately severe)" in profile and "2 (Minimal)" in profile
    assert "No scores in this domain yet." in profile  # social, community and recovery capital have none here


def test_viewing_a_client_is_audited_without_health_values(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, LOW)
    workspace.sign_in(workspace.counsellor)
    page_of(workspace, client.code)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "client.view")).all()[-1]
    assert event.object_id == str(client.id) and event.actor_id == workspace.counsellor.id
    assert event.details == {"page": "client_page"}


def test_answers_show_the_exact_question_text_and_version_the_client_saw(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, LOW, language="nl")
    workspace.sign_in(workspace.counsellor)
    response = workspace.browser.get(
        f"/counsellor/clients/{client.code}/sessions/{session.public_id}", headers={"Accept-Language": "en"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "De afgelopen twee weken voelde ik me opgewekt" in page  # WHO-5 item 1 as the client read it
    assert "I have felt cheerful and in good spirits" in page  # and in the counsellor's language beside it
    assert "version 1" in page and "Thoughts of death or self-harm" not in page  # no flag raised here
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "client.view")).all()
    assert events[-1].details == {"page": "session_answers", "session": session.public_id}


def test_notes_are_added_to_a_session_and_audited_without_their_text(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, LOW)
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}/sessions/{session.public_id}"
    response = workspace.browser.post(
        f"{path}/notes", data={"csrf_token": workspace.token(path), "body": "Talked about <sleep> & work."}
    )
    assert response.status_code == 302
    page = workspace.browser.get(path).get_data(as_text=True)
    assert "Talked about &lt;sleep&gt; &amp; work." in page
    note = db.session.scalar(select(SessionNote))
    assert note is not None and note.author_id == workspace.counsellor.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "note.create"))
    assert event is not None and "sleep" not in str(event.details)


def test_an_empty_note_is_refused_with_a_message(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, LOW)
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}/sessions/{session.public_id}"
    response = workspace.browser.post(
        f"{path}/notes", data={"csrf_token": workspace.token(path), "body": "   "}
    )
    assert response.status_code == 422 and "This field is required." in response.get_data(as_text=True)
    assert db.session.scalar(select(SessionNote)) is None


def test_a_refused_note_shows_the_answers_again_and_is_audited_like_the_page(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, LOW)
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}/sessions/{session.public_id}"
    token = workspace.token(path)
    views = select(AuditEvent).where(AuditEvent.action == "client.view").order_by(AuditEvent.id)
    before = len(db.session.scalars(views).all())
    response = workspace.browser.post(f"{path}/notes", data={"csrf_token": token, "body": ""})
    assert response.status_code == 422
    assert "I have felt cheerful and in good spirits" in response.get_data(as_text=True)  # the answers again
    events = db.session.scalars(views).all()
    assert len(events) == before + 1
    assert events[-1].details == {"page": "session_answers", "session": session.public_id}
    assert events[-1].actor_id == workspace.counsellor.id and events[-1].ip == "127.0.0.1"


def test_the_page_reads_in_dutch(workspace: World) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, LOW)
    workspace.sign_in(workspace.counsellor)
    page = workspace.browser.get(f"/counsellor/clients/{client.code}", headers={"Accept-Language": "nl"})
    text = page.get_data(as_text=True)
    assert 'lang="nl"' in text and "Tijdlijn" in text


def questionnaires_started(client_id: int) -> list[str]:
    """The questionnaire keys of the client's one session, in the order they are asked."""
    assessment = _db.session.scalars(
        select(AssessmentSession).where(AssessmentSession.client_id == client_id)
    ).one()
    return [given.questionnaire_version.key for given in assessment.questionnaires]


def test_the_counsellor_can_leave_optional_questionnaires_out_for_a_shorter_session(workspace: World) -> None:
    battery = [("who5", True), ("phq9", True), ("gad7", False), ("k10", False)]
    for key, _ in battery:
        bank_version(key)
    workspace.t0.battery = [
        TimepointQuestionnaire(questionnaire_key=key, position=index, is_core=core)
        for index, (key, core) in enumerate(battery)
    ]
    client = workspace.client_of(workspace.counsellor, intake=TODAY - dt.timedelta(days=2))
    workspace.sign_in(workspace.counsellor)
    page = page_of(workspace, client.code)
    offered = re.findall(
        r'<input type="checkbox" name="leave_out" value="([a-z0-9_]+)"> ([^<]+)</label>', page
    )
    assert offered == [("gad7", "Anxiety (GAD-7)"), ("k10", "Emotional distress (K10)")]
    response = workspace.browser.post(
        f"/client-mode/start/{client.code}",
        data={"csrf_token": workspace.token(f"/counsellor/clients/{client.code}"), "leave_out": "k10"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert questionnaires_started(client.id) == ["who5", "phq9", "gad7"]
    workspace.sign_in(workspace.counsellor)  # this browser is in client mode now; back as the counsellor
    page = page_of(workspace, client.code)  # the session has started: it resumes as it is
    assert 'name="leave_out"' not in page


#: 23:30 UTC on 28 March 2026 is 00:30 on 29 March in Brussels (summer time starts at 02:00 that night).
NIGHT = dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)


def test_just_after_midnight_in_brussels_it_is_already_the_next_day_and_times_say_so(
    app: Flask, workspace: World
) -> None:
    with app.test_request_context("/"):
        assert today(NIGHT) == dt.date(2026, 3, 29)
        assert wording.moment(NIGHT) == "Mar 29, 2026 00:30"
        assert ReportWords("en", timezone()).moment(NIGHT) == "Mar 29, 2026 00:30"
    client = workspace.client_of(workspace.counsellor, intake=dt.date(2026, 3, 1))
    workspace.submit(client, workspace.t0, LOW, when=NIGHT)
    record_consent(_db.session, client, "court", True)
    state = consent_for(_db.session, client.id, "court")
    report = build_court_report(
        _db.session, client, state, today=dt.date(2026, 3, 29), timezone=ZoneInfo("Europe/Brussels")
    )
    assert report.attendance[0].completed_on == dt.date(2026, 3, 29)


def test_a_session_note_the_browser_let_through_at_the_limit_is_kept_with_its_line_breaks(
    workspace: World, db: SQLAlchemy
) -> None:
    """A textarea counts a line break as one character but sends it as two (CR LF)."""
    client = workspace.client_of(workspace.counsellor)
    session = workspace.submit(client, workspace.t0, LOW)
    workspace.sign_in(workspace.counsellor)
    path = f"/counsellor/clients/{client.code}/sessions/{session.public_id}"
    typed = "\n".join(["Talked about sleep." + "." * 180] * 20)  # 3,999 characters as typed
    response = workspace.browser.post(
        f"{path}/notes", data={"csrf_token": workspace.token(path), "body": typed.replace("\n", "\r\n")}
    )
    assert response.status_code == 302
    note = db.session.scalar(select(SessionNote))
    assert note is not None and note.body == typed
