"""A client's page, the item-level answers of a session, and notes on sessions."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from survey_app.domain.questionnaire import localise
from survey_app.extensions import db
from survey_app.i18n import page_language, timezone, today
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import Client
from survey_app.models.programme import Timepoint
from survey_app.reports.charts import score_chart_svg
from survey_app.services.alerts import flag_label
from survey_app.services.answer_review import session_answers
from survey_app.services.assessments import optional_questionnaires
from survey_app.services.client_record import ClientRecord, client_record
from survey_app.services.clients import TRANSITIONS
from survey_app.services.notes import NoteError, add_note, notes_by_session
from survey_app.services.outcome_summary import scale_chart
from survey_app.services.questionnaires import questionnaire_of
from survey_app.services.trends import missed_waves
from survey_app.web.counsellor import bp
from survey_app.web.counsellor import wording as words
from survey_app.web.counsellor.context import audit_view, client_or_404, scope
from survey_app.web.counsellor.forms import AcknowledgeForm, NoteForm, StatusForm


def charts_of(record: ClientRecord, language: str) -> dict[tuple[str, str], Markup]:
    """Every scale's chart as inline SVG (built from escaped text only, so safe to insert)."""
    texts = words.chart_texts()
    waves = {timepoint.id: timepoint.label_in(language) for timepoint in record.timepoints}
    missed = missed_waves(record.schedule)
    charts = {}
    for instrument in record.instruments:
        for trend in instrument.scales:
            chart = scale_chart(
                trend, language=language, texts=texts, wave_labels=waves, missed=missed, timezone=timezone()
            )
            svg = score_chart_svg(chart, chart_id=f"chart-{instrument.key}-{trend.scale.id}")
            charts[(instrument.key, trend.scale.id)] = Markup(svg)
    return charts


def _optional_questionnaires(
    client: Client, timepoint: Timepoint | None, language: str
) -> list[tuple[str, str]]:
    """(key, short title) of the questionnaires the counsellor may leave out at the next timepoint."""
    if timepoint is None:
        return []
    return [
        (row.key, localise(questionnaire_of(row).short_title, language))
        for row in optional_questionnaires(db.session, client, timepoint)
    ]


@bp.get("/clients/<code>")
def client_page(code: str) -> str:
    """The client's page: timeline, alerts, profile, scores over time, sessions and history."""
    client = client_or_404(code)
    record = client_record(db.session, client, today())
    language = page_language()
    manages = scope().manages(client)  # a recipient of the client's alerts only sees the record
    page = render_template(
        "counsellor/client_view.html",
        record=record,
        client=client,
        timepoint=record.next_timepoint,
        optional_questionnaires=_optional_questionnaires(client, record.next_timepoint, language),
        charts=charts_of(record, language),
        alert_labels={
            alert.flag.id: flag_label(
                record.versions[alert.flag.questionnaire_version_id], alert.flag.flag_id, language
            )
            for alert in record.alerts
        },
        language=language,
        words=words,
        status_form=StatusForm(),
        acknowledge_form=AcknowledgeForm(),
        may_manage=manages,
        transitions=TRANSITIONS.get(client.status, ()) if manages else (),
        today=today(),
        scope=scope(),
        hand_over_ready="client_mode.hand_over" in current_app.view_functions,
    )
    audit_view(client, "client_page")
    db.session.commit()  # after rendering: committing expires the objects the page reads
    return page


def _session_or_404(client: Client, public_id: str) -> AssessmentSession:
    if len(public_id) != 36:
        abort(404)
    assessment = db.session.scalar(
        select(AssessmentSession).where(
            AssessmentSession.public_id == public_id, AssessmentSession.client_id == client.id
        )
    )
    if assessment is None:
        abort(404)
    return assessment


@bp.get("/clients/<code>/sessions/<public_id>")
def session_page(code: str, public_id: str) -> str:
    """Item-level answers of one session with the exact question texts and version, and its notes."""
    client = client_or_404(code)
    assessment = _session_or_404(client, public_id)
    return _session_page(client, assessment, NoteForm())


@bp.post("/clients/<code>/sessions/<public_id>/notes")
def add_session_note(code: str, public_id: str) -> Response | tuple[str, int]:
    """Add a note to a session; on a problem the page comes back with the text kept."""
    client = client_or_404(code)
    assessment = _session_or_404(client, public_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            add_note(db.session, scope(), assessment, form.body.data or "", ip=request.remote_addr)
        except NoteError as error:
            form.body.errors = [_(str(error))]
        else:
            db.session.commit()
            flash(_("Note saved."), "info")
            return redirect(
                url_for("counsellor.session_page", code=client.code, public_id=public_id) + "#notes"
            )
    db.session.rollback()
    return _session_page(client, assessment, form), 422


def _session_page(client: Client, assessment: AssessmentSession, note_form: NoteForm) -> str:
    """The session's answers and notes, audited as a view of the client's data (committed)."""
    language = page_language()
    page = render_template(
        "counsellor/session_answers.html",
        client=client,
        assessment=assessment,
        timepoint_label=assessment.timepoint.label_in(language) if assessment.timepoint else None,
        questionnaires=session_answers(db.session, assessment, language),
        notes=notes_by_session(db.session, client.id).get(assessment.id, []),
        note_form=note_form,
        language=language,
        words=words,
    )
    audit_view(client, "session_answers", session=assessment.public_id)
    db.session.commit()  # after rendering: committing expires the objects the page reads
    return page
