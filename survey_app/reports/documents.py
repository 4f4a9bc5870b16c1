"""A report from the database to HTML and PDF: read (services.reports), build its words, render, print.

The same function serves the web pages, `flask report` and the batch workers: it needs an app context (for
templates and translations) and a database session, and writes nothing. Callers audit the render.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from survey_app.db import DbSession
from survey_app.i18n import timezone as shown_timezone
from survey_app.models.assessment import AssessmentSession
from survey_app.models.base import utcnow
from survey_app.models.people import Client
from survey_app.reports.client_report import STRENGTH_KEYS, build_client_report
from survey_app.reports.counsellor import build_counsellor_report
from survey_app.reports.pdf import render_pdf
from survey_app.reports.session_record import build_session_record
from survey_app.reports.wording import ReportWords
from survey_app.services.caseload import local_today
from survey_app.services.reports import (
    ReportError,
    client_report_data,
    counsellor_report_data,
    record_data,
    report_file_name,
)

__all__ = ["DocumentFacts", "RenderedReport", "render_report", "report_pdf"]


@dataclass(frozen=True)
class DocumentFacts:
    """What every report page carries: title, language, running head, and the document's metadata."""

    kind: str
    language: str
    title: str
    heading: str
    code: str
    name: str
    author: str
    description: str
    created: str
    made: str


@dataclass(frozen=True)
class RenderedReport:
    """A report as HTML, with the facts a caller needs to serve or store it."""

    kind: str
    language: str
    title: str
    file_name: str
    html: str
    session_public_id: str | None = None


def client_name(client: Client) -> str:
    """The client's recorded name, or an empty string."""
    identity = client.identity
    if identity is None:
        return ""
    return " ".join(part for part in (identity.given_name, identity.family_name) if part)


def _headings(kind: str) -> tuple[str, str]:
    if kind == "counsellor":
        return _("Counsellor report"), _("Scores, flags and notes of one client, for the client file.")
    if kind == "client":
        return _("My progress report"), _("What you told us in your questionnaires, in plain words.")
    return _("Filled-form record"), _("One session exactly as answered, for the client file.")


def _facts(
    kind: str, language: str, client: Client, name: str, now: dt.datetime, words: ReportWords
) -> DocumentFacts:
    heading, description = _headings(kind)
    return DocumentFacts(
        kind=kind,
        language=language,
        title=f"{heading}: {client.code}",
        heading=heading,
        code=client.code,
        name=name,
        author=client.programme.name_in(language),
        description=description,
        created=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        made=_("Made %(when)s", when=words.moment(now)),
    )


def _model(
    session: DbSession,
    client: Client,
    kind: str,
    words: ReportWords,
    name: str,
    now: dt.datetime,
    today: dt.date,
    assessment: AssessmentSession | None,
) -> Any:
    if kind == "counsellor":
        return build_counsellor_report(
            counsellor_report_data(session, client, today), words, name=name, generated=now
        )
    if kind == "client":
        data = client_report_data(session, client, today, STRENGTH_KEYS)
        return build_client_report(data, words, name=name, generated=now)
    if assessment is None:
        raise ReportError("A filled-form record needs a session.")
    return build_session_record(record_data(session, client, assessment), words, name=name, generated=now)


def render_report(
    session: DbSession,
    client: Client,
    kind: str,
    language: str,
    *,
    show_names: bool = False,
    assessment: AssessmentSession | None = None,
    now: dt.datetime | None = None,
    for_pdf: bool = True,
    toolbar: Markup | None = None,
) -> RenderedReport:
    """One report of `client` in `language` as HTML (`for_pdf` False: for the browser, with `toolbar`)."""
    now = now or utcnow()
    timezone = shown_timezone()
    name = client_name(client) if show_names else ""
    with force_locale(language):
        words = ReportWords(language, timezone)
        model = _model(session, client, kind, words, name, now, local_today(now, timezone), assessment)
        facts = _facts(kind, language, client, name, now, words)
        html = render_template(
            f"reports/{kind}.html", report=model, doc=facts, for_pdf=for_pdf, toolbar=toolbar
        )
    return RenderedReport(
        kind=kind,
        language=language,
        title=facts.title,
        file_name=report_file_name(client.code, kind, language, assessment, timezone),
        html=html,
        session_public_id=assessment.public_id if assessment else None,
    )


def report_pdf(report: RenderedReport) -> bytes:
    """The report as a PDF/A-2a file."""
    return render_pdf(report.html)
