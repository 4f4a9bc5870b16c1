"""Sessions in the JSON API: read one, autosave answers (upsert per item), submit exactly once."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.models.assessment import AssessmentSession
from survey_app.services import responses
from survey_app.services.client_session import session_states
from survey_app.web.api import bp
from survey_app.web.api.errors import api_error
from survey_app.web.client.pages import finish_client_mode_after_submit

_MESSAGES = {
    "session_submitted": lambda: _("These answers have already been sent. They cannot be changed any more."),
    "session_cancelled": lambda: _("This session was closed by your counsellor."),
    "idempotency_key_reused": lambda: _(
        "This sending was already used with other answers. Please reload the page."
    ),
    "required_unanswered": lambda: _("Some questions still need an answer."),
    "bad_idempotency_key": lambda: _("The answers could not be sent. Please reload the page and try again."),
}


def _assessment(public_id: str) -> AssessmentSession | None:
    """The session of this browser's client mode, when the URL names it; None for any other session."""
    assessment: AssessmentSession = g.client_mode.assessment
    return assessment if assessment.public_id == public_id else None


def _not_found() -> Response:
    return api_error(404, "not_found", _("There are no questionnaires at this address."))


def _refused(error: responses.ResponseError) -> Response:
    db.session.rollback()
    message = _MESSAGES.get(
        error.code, lambda: _("An answer could not be saved. Please check it and try again.")
    )
    return api_error(error.status, error.code, message(), [problem.to_json() for problem in error.problems])


def _body() -> dict[str, Any] | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _bad_body() -> Response:
    return api_error(400, "bad_json", _("What was sent could not be read. Please reload the page."))


@bp.get("/sessions/<public_id>")
def get_session(public_id: str) -> Response:
    """The session's status, its questionnaires with progress, and the answers given so far."""
    assessment = _assessment(public_id)
    if assessment is None:
        return _not_found()
    states = session_states(db.session, assessment)
    return jsonify(
        {
            "id": assessment.public_id,
            "status": assessment.status,
            "language": assessment.language,
            "questionnaires": [
                {
                    "questionnaire": state.row.key,
                    "version": state.row.version,
                    "items": len(state.shown_items),
                    "answered": state.answered,
                }
                for state in states
            ],
            "answers": [
                {"questionnaire": state.row.key, "version": state.row.version, "item": item, "value": value}
                for state in states
                for item, value in sorted(state.answers.items())
            ],
        }
    )


@bp.put("/sessions/<public_id>/answers")
def save_answers(public_id: str) -> Response:
    """Store answers as they are given: each is checked against the session's questionnaire version."""
    assessment = _assessment(public_id)
    if assessment is None:
        return _not_found()
    body = _body()
    if body is None or set(body) != {"answers"}:
        return _bad_body()
    try:
        entries = responses.parse_answer_entries(assessment, body["answers"])
        report = responses.save_answers(db.session, assessment, entries, client_mode_id=g.client_mode.id)
    except responses.ResponseError as error:
        return _refused(error)
    db.session.commit()
    return jsonify(
        {
            "status": assessment.status,
            "saved": [{"questionnaire": key, "item": item} for key, item in report.saved],
            "not_stored": [
                *({"questionnaire": key, "item": item, "reason": "hidden"} for key, item in report.hidden),
                *(
                    {"questionnaire": key, "item": item, "reason": "superseded", "value": value}
                    for key, item, value in report.superseded
                ),
            ],
        }
    )


def _submit(assessment: AssessmentSession, key: Any, answers: Any) -> responses.SubmitOutcome:
    entries = responses.parse_answer_entries(assessment, answers)
    return responses.submit_session(
        db.session, assessment, key if isinstance(key, str) else "", entries, client_mode_id=g.client_mode.id
    )


@bp.post("/sessions/<public_id>/submit")
def submit(public_id: str) -> Response:
    """Submit with the client's idempotency key: a retry replays the first result, never submits twice."""
    assessment = _assessment(public_id)
    if assessment is None:
        return _not_found()
    body = _body()
    if body is None or not set(body) <= {"idempotency_key", "answers"}:
        return _bad_body()
    key, answers = body.get("idempotency_key"), body.get("answers", [])
    try:
        try:
            outcome = _submit(assessment, key, answers)
            db.session.flush()
        except IntegrityError:  # the same key won a race in another worker: replay it
            db.session.rollback()
            outcome = _submit(assessment, key, answers)
    except responses.ResponseError as error:
        return _refused(error)
    finish_client_mode_after_submit()
    submitted_at = outcome.received_at.isoformat()
    db.session.commit()
    response = jsonify({"status": "submitted", "submitted_at": submitted_at, "next": url_for("client.done")})
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
