"""A client's reports: list, the counsellor report, the client's own report (preview, then PDF), records."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from survey_app.extensions import db
from survey_app.i18n import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, page_language
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import Client, StaffUser
from survey_app.reports.documents import RenderedReport, render_report, report_pdf
from survey_app.reports.pdf import FontsMissing
from survey_app.services.reports import ReportError, record_report_render, show_names
from survey_app.web.access import client_for_staff_or_404, record_client_view, signed_in_staff
from survey_app.web.counsellor import wording as words
from survey_app.web.reports import bp


def _reader() -> StaffUser:
    user = signed_in_staff()
    assert user is not None  # the blueprint guard let only signed-in staff through
    return user


def _client_language(client: Client) -> str:
    wanted = request.args.get("lang", "")
    return wanted if wanted in SUPPORTED_LANGUAGES else client.preferred_language


def _pdf_response(rendered: RenderedReport, data: bytes) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{rendered.file_name}"'},
    )


def _sessions(client: Client) -> list[AssessmentSession]:
    return list(
        db.session.scalars(
            select(AssessmentSession)
            .where(AssessmentSession.client_id == client.id)
            .order_by(AssessmentSession.started_at.desc(), AssessmentSession.id.desc())
        )
    )


@bp.get("/clients/<code>")
def client_reports(code: str) -> str:
    """What can be printed for a client: the counsellor report, the client's own report, records."""
    client = client_for_staff_or_404(code)
    page = render_template(
        "reports/client_reports.html",
        client=client,
        sessions=_sessions(client),
        languages=[
            client.preferred_language,
            *(code for code in SUPPORTED_LANGUAGES if code != client.preferred_language),
        ],
        language_names=LANGUAGE_NAMES,
        names_on=show_names(db.session, client, _reader()),
        words=words,
    )
    record_client_view(client, "reports")
    db.session.commit()
    return page


def _render_pdf(
    client: Client, kind: str, language: str, assessment: AssessmentSession | None = None
) -> BaseResponse:
    try:
        rendered = render_report(
            db.session,
            client,
            kind,
            language,
            show_names=show_names(db.session, client, _reader()),
            assessment=assessment,
        )
        data = report_pdf(rendered)
    except (ReportError, FontsMissing) as error:
        db.session.rollback()
        flash(_("The report could not be made: %(reason)s", reason=_(str(error))), "error")
        return redirect(url_for("reports.client_reports", code=client.code))
    details = {"session": assessment.public_id} if assessment else {}
    record_client_view(client, f"report_{kind}", language=language, **details)
    record_report_render(
        db.session,
        client,
        kind,
        language,
        actor_id=_reader().id,
        ip=request.remote_addr,
        assessment=assessment,
    )
    db.session.commit()
    return _pdf_response(rendered, data)


@bp.get("/clients/<code>/counsellor.pdf")
def counsellor_pdf(code: str) -> BaseResponse:
    """The counsellor's report of the client, in the page's language."""
    return _render_pdf(client_for_staff_or_404(code), "counsellor", page_language())


@bp.get("/clients/<code>/client")
def client_preview(code: str) -> str:
    """The client's own report in the browser (their language by default), before it is printed or shared."""
    client = client_for_staff_or_404(code)
    language = _client_language(client)
    toolbar = Markup(
        render_template(
            "reports/_preview_bar.html",
            client=client,
            language=language,
            language_names=LANGUAGE_NAMES,
            languages=SUPPORTED_LANGUAGES,
        )
    )
    rendered = render_report(
        db.session,
        client,
        "client",
        language,
        show_names=show_names(db.session, client, _reader()),
        for_pdf=False,
        toolbar=toolbar,
    )
    record_client_view(client, "report_client_preview", language=language)
    db.session.commit()
    return rendered.html


@bp.get("/clients/<code>/client.pdf")
def client_pdf(code: str) -> BaseResponse:
    """The client's own report as a PDF, to print or to share with the client."""
    client = client_for_staff_or_404(code)
    return _render_pdf(client, "client", _client_language(client))


@bp.get("/clients/<code>/sessions/<public_id>/record.pdf")
def record_pdf(code: str, public_id: str) -> BaseResponse:
    """The filled-form record of one session of the client."""
    client = client_for_staff_or_404(code)
    if len(public_id) != 36:
        abort(404)
    assessment = db.session.scalar(
        select(AssessmentSession).where(
            AssessmentSession.public_id == public_id, AssessmentSession.client_id == client.id
        )
    )
    if assessment is None:
        abort(404)
    return _render_pdf(client, "record", page_language(), assessment)
