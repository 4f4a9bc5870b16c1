"""What an export covers: the request (layout, format, filters) checked against the project's data.

Every export reads submitted sessions only, taken at the project's organisation's sites, of clients who
consent to research (`research_consent_clause`: the one place that decides), and the questionnaires that
organisation sees (its own and the shared ones), restricted by the filters: questionnaires, versions,
timepoints, sites and a range of submission dates. A session's site is where it was taken (the client's site
when it started), so the site filter keeps a moved client's sessions at that site only. A filter naming
something unknown is an error that says what is known; nothing is exported then.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import Client
from survey_app.models.programme import Programme, Site, Timepoint
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.models.research import EXPORT_FORMATS, EXPORT_LAYOUTS, ExportProject
from survey_app.models.security import ClientErasure
from survey_app.services.caseload import local_day_start
from survey_app.services.consent import clients_with_consent
from survey_app.services.exports.projects import ExportError
from survey_app.services.questionnaire_owners import visible_to
from survey_app.services.user_messages import N_

LABEL_LANGUAGES = ("en", "nl", "fr")
_VERSION = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(?::|\s+v|\s*v)\s*(\d+)\s*$")


@dataclass(frozen=True)
class ExportFilters:
    """Restrictions on what is exported; an empty tuple means no restriction."""

    questionnaires: tuple[str, ...] = ()
    versions: tuple[tuple[str, int], ...] = ()
    timepoints: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        """The filters as JSON (for the run, the audit log and the codebook)."""
        return {
            "questionnaires": list(self.questionnaires),
            "versions": [f"{key}:{version}" for key, version in self.versions],
            "timepoints": list(self.timepoints),
            "sites": list(self.sites),
            "submitted_from": self.submitted_from.isoformat() if self.submitted_from else None,
            "submitted_to": self.submitted_to.isoformat() if self.submitted_to else None,
        }


@dataclass(frozen=True)
class ExportRequest:
    """What a researcher asks for: layout, format, filters, and options."""

    layout: str
    format: str
    filters: ExportFilters = field(default_factory=ExportFilters)
    #: Wide layout: one column per item and timepoint besides the scores.
    include_items: bool = True
    #: Language of variable labels, value labels and FHIR texts.
    label_language: str = "en"

    def to_json(self) -> dict[str, Any]:
        """The request as JSON (stored with the run)."""
        return {
            "layout": self.layout,
            "format": self.format,
            "filters": self.filters.to_json(),
            "include_items": self.include_items,
            "label_language": self.label_language,
        }


@dataclass(frozen=True)
class Selection:
    """A checked request: the project, the questionnaire versions and the SQL conditions it covers."""

    project: ExportProject
    request: ExportRequest
    versions: tuple[QuestionnaireVersion, ...]
    site_ids: tuple[int, ...]
    timepoint_ids: tuple[int, ...]
    as_of: dt.datetime
    #: the zone whose days the date filters and the exported submission dates are (the pages' zone)
    timezone: dt.tzinfo

    @property
    def version_ids(self) -> tuple[int, ...]:
        """Ids of the questionnaire versions in scope."""
        return tuple(row.id for row in self.versions)


def parse_version(text: str) -> tuple[str, int]:
    """`who5:2` or `who5 v2` -> ("who5", 2); ExportError for anything else."""
    match = _VERSION.match(text.lower())
    if not match:
        raise ExportError(
            N_("Version %(version)s is not understood: write it as key:version, for example who5:1."),
            version=text,
        )
    return match.group(1), int(match.group(2))


def split_list(values: Iterable[str]) -> tuple[str, ...]:
    """Values given repeatedly or comma-separated, trimmed, without empties or repeats, in order."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            if part.strip():
                seen[part.strip()] = None
    return tuple(seen)


#: What a filter names that the project's data does not hold, by kind of filter.
_UNKNOWN = {
    "questionnaire": N_("Unknown questionnaire: %(unknown)s. Known questionnaires: %(known)s."),
    "site": N_("Unknown site: %(unknown)s. Known sites: %(known)s."),
    "version": N_("Unknown version: %(unknown)s. Known versions: %(known)s."),
    "timepoint": N_("Unknown timepoint: %(unknown)s. Known timepoints: %(known)s."),
}


def _known(kind: str, unknown: Iterable[str], known: Iterable[str]) -> ExportError:
    listed = ", ".join(sorted(set(known))) or "-"
    return ExportError(_UNKNOWN[kind], unknown=", ".join(sorted(set(unknown))), known=listed)


def _versions_in_scope(
    session: DbSession, project: ExportProject, filters: ExportFilters
) -> tuple[QuestionnaireVersion, ...]:
    stored = session.scalars(
        select(QuestionnaireVersion)
        .where(visible_to(project.organisation_id))
        .order_by(QuestionnaireVersion.key, QuestionnaireVersion.version)
    ).all()
    keys = {row.key for row in stored}
    if unknown := set(filters.questionnaires) - keys:
        raise _known("questionnaire", unknown, keys)
    pairs = {(row.key, row.version) for row in stored}
    if unknown_pairs := set(filters.versions) - pairs:
        raise _known("version", (f"{k}:{v}" for k, v in unknown_pairs), (f"{k}:{v}" for k, v in pairs))
    chosen = [row for row in stored if not filters.questionnaires or row.key in filters.questionnaires]
    if filters.versions:
        wanted = set(filters.versions)
        named = {key for key, _ in wanted}
        chosen = [row for row in chosen if row.key not in named or (row.key, row.version) in wanted]
    return tuple(chosen)


def _ids_for(
    session: DbSession, project: ExportProject, filters: ExportFilters
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rows = session.execute(select(Site.code, Site.id).where(Site.organisation_id == project.organisation_id))
    sites = {code: site_id for code, site_id in rows}
    if unknown := set(filters.sites) - set(sites):
        raise _known("site", unknown, sites)
    timepoints = session.execute(
        select(Timepoint.key, Timepoint.id)
        .join(Programme, Programme.id == Timepoint.programme_id)
        .where(Programme.organisation_id == project.organisation_id)
    ).all()
    keys = {key for key, _ in timepoints}
    if unknown := set(filters.timepoints) - keys:
        raise _known("timepoint", unknown, keys)
    site_ids = tuple(sites[code] for code in filters.sites)
    timepoint_ids = tuple(tid for key, tid in timepoints if key in filters.timepoints)
    return site_ids, timepoint_ids


def check_request(
    session: DbSession,
    project: ExportProject,
    request: ExportRequest,
    *,
    as_of: dt.datetime,
    timezone: dt.tzinfo,
) -> Selection:
    """Check a request against the project's data; ExportError with a clear message when it cannot run.

    `timezone` is where the programme runs: its days are those of the date filters and of the exported
    submission dates, as on every page.
    """
    if request.layout not in EXPORT_LAYOUTS:
        raise ExportError(
            N_("Unknown layout %(layout)s: choose one of %(choices)s."),
            layout=request.layout,
            choices=", ".join(EXPORT_LAYOUTS),
        )
    if request.format not in EXPORT_FORMATS:
        raise ExportError(
            N_("Unknown format %(format)s: choose one of %(choices)s."),
            format=request.format,
            choices=", ".join(EXPORT_FORMATS),
        )
    if request.format == "fhir" and request.layout != "long":
        raise ExportError(N_("FHIR exports carry answers: use the long layout with the fhir format."))
    if request.label_language not in LABEL_LANGUAGES:
        raise ExportError(
            N_("Labels can be in %(choices)s, not %(language)s."),
            choices=", ".join(LABEL_LANGUAGES),
            language=request.label_language,
        )
    filters = request.filters
    if filters.submitted_from and filters.submitted_to and filters.submitted_from > filters.submitted_to:
        raise ExportError(N_("The start date comes after the end date."))
    versions = _versions_in_scope(session, project, filters)
    site_ids, timepoint_ids = _ids_for(session, project, filters)
    return Selection(project, request, versions, site_ids, timepoint_ids, as_of, timezone)


def research_consent_clause(as_of: dt.datetime) -> ColumnElement[bool]:
    """Clients whose decision in force for the research purpose is yes, and whose research data may be kept.

    This is the single place that decides whose data research sees: a client without a research consent,
    one who withdrew it, or one erased without the DPIA basis to keep research data is left out.
    """
    erased_without_basis = select(ClientErasure.id).where(
        ClientErasure.client_id == Client.id, ClientErasure.research_data_kept.is_(False)
    )
    return Client.id.in_(clients_with_consent("research", at=as_of)) & ~erased_without_basis.exists()


def session_conditions(selection: Selection) -> list[ColumnElement[bool]]:
    """WHERE conditions on AssessmentSession, Client and the session's Site (joined) for the selection."""
    filters = selection.request.filters
    conditions: list[ColumnElement[bool]] = [
        AssessmentSession.status == "submitted",
        Site.organisation_id == selection.project.organisation_id,
        research_consent_clause(selection.as_of),
    ]
    if selection.site_ids:
        conditions.append(AssessmentSession.site_id.in_(selection.site_ids))
    if selection.timepoint_ids:
        conditions.append(AssessmentSession.timepoint_id.in_(selection.timepoint_ids))
    if filters.submitted_from:
        conditions.append(
            AssessmentSession.submitted_at >= local_day_start(filters.submitted_from, selection.timezone)
        )
    if filters.submitted_to and filters.submitted_to < dt.date.max:  # the last day of the calendar: no end
        conditions.append(
            AssessmentSession.submitted_at
            < local_day_start(filters.submitted_to + dt.timedelta(days=1), selection.timezone)
        )
    return conditions


def selection_client_ids(session: DbSession, selection: Selection) -> list[int]:
    """Ids of the clients with a session in the selection: everyone whose data an export of it can hold."""
    query = (
        select(AssessmentSession.client_id)
        .distinct()
        .join(Client, Client.id == AssessmentSession.client_id)
        .join(Site, Site.id == AssessmentSession.site_id)
        .where(*session_conditions(selection))
    )
    return list(session.scalars(query))


def distinct_sorted(values: Sequence[str]) -> tuple[str, ...]:
    """Unique values, sorted."""
    return tuple(sorted(set(values)))
