"""Report batches: which reports a filter asks for, and the batch row every worker reads the progress from.

A filter narrows the clients a reader may see (their caseload or sites, or every client on the command line):
by site, by timepoint (a submitted session at that timepoint) and by date range (a session submitted in it).
Counsellor and client reports are one per client; records are one per submitted session that matches. Each
report is a job with a stable file name from the client's code and the kind, so a batch run twice gives the
same names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, exists, select

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession
from survey_app.models.base import utcnow
from survey_app.models.people import Client
from survey_app.models.programme import Site, Timepoint
from survey_app.models.reports import ReportBatch
from survey_app.models.security import ClientErasure
from survey_app.services.audit import record_event
from survey_app.services.caseload import local_day_start
from survey_app.services.reports import ReportError, report_file_name
from survey_app.services.user_messages import N_

__all__ = [
    "BATCH_FOLDER",
    "BATCH_LIMIT",
    "BatchFilter",
    "BatchJob",
    "check_batch_download",
    "delete_files_of_erased_clients",
    "download_refusal",
    "fail_batch",
    "finish_batch",
    "mark_batch_progress",
    "select_jobs",
    "start_batch",
]

#: The most reports one batch makes (a bigger set is split by site or dates).
BATCH_LIMIT = 2000
#: The folder, inside the instance folder, where the ZIPs of finished batches are kept.
BATCH_FOLDER = "report_batches"


@dataclass(frozen=True)
class BatchFilter:
    """Which clients and sessions a batch covers (every field optional)."""

    site_id: int | None = None
    timepoint_key: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    #: the zone whose days `start` and `end` are (the one pages show submission times in)
    timezone: dt.tzinfo = dt.UTC

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ReportError(N_("The start date is after the end date."))

    def to_json(self) -> dict[str, Any]:
        """The filter as stored with the batch (ids, keys and ISO dates only)."""
        return {
            "site_id": self.site_id,
            "timepoint": self.timepoint_key,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }


@dataclass(frozen=True)
class BatchJob:
    """One report of a batch: whose, which kind, in which language, and its file name in the ZIP."""

    client_id: int
    client_code: str
    kind: str
    language: str
    file_name: str
    session_id: int | None = None


def _matching_sessions(wanted: BatchFilter) -> list[Any]:
    conditions: list[Any] = [AssessmentSession.status == "submitted"]
    if wanted.timepoint_key:
        conditions.append(
            AssessmentSession.timepoint_id.in_(
                select(Timepoint.id).where(Timepoint.key == wanted.timepoint_key)
            )
        )
    if wanted.start:
        conditions.append(AssessmentSession.submitted_at >= local_day_start(wanted.start, wanted.timezone))
    if wanted.end:
        day_after = local_day_start(wanted.end + dt.timedelta(days=1), wanted.timezone)
        conditions.append(AssessmentSession.submitted_at < day_after)
    return conditions


def _narrowed(clients: Select[Any], wanted: BatchFilter) -> Select[Any]:
    query = clients
    if wanted.site_id is not None:
        query = query.where(Client.site_id == wanted.site_id)
    if wanted.timepoint_key or wanted.start or wanted.end:
        query = query.where(
            exists().where(AssessmentSession.client_id == Client.id, and_(*_matching_sessions(wanted)))
        )
    return query


def _language(client: Client, kind: str, language: str | None, site_languages: dict[int, str]) -> str:
    if kind == "client":
        return language or client.preferred_language
    return language or site_languages.get(client.site_id, "en")


def select_jobs(
    session: DbSession,
    clients: Select[Any],
    kind: str,
    wanted: BatchFilter,
    language: str | None = None,
) -> list[BatchJob]:
    """The reports a batch makes, ordered by client code (records: by session), at most BATCH_LIMIT."""
    found: list[Client] = list(
        session.scalars(_narrowed(clients, wanted).order_by(Client.code).limit(BATCH_LIMIT + 1))
    )
    site_languages: dict[int, str] = {
        row.id: row.default_language for row in session.execute(select(Site.id, Site.default_language))
    }
    if kind != "record":
        jobs = [
            BatchJob(client.id, client.code, kind, chosen, report_file_name(client.code, kind, chosen))
            for client in found
            for chosen in [_language(client, kind, language, site_languages)]
        ]
    else:
        jobs = _record_jobs(session, found, wanted, language, site_languages)
    if len(jobs) > BATCH_LIMIT:
        raise ReportError(
            N_("That is more than 2,000 reports. Choose a site, a timepoint or a shorter date range.")
        )
    return jobs


def _record_jobs(
    session: DbSession,
    clients: Sequence[Client],
    wanted: BatchFilter,
    language: str | None,
    site_languages: dict[int, str],
) -> list[BatchJob]:
    by_id = {client.id: client for client in clients}
    rows = session.scalars(
        select(AssessmentSession)
        .where(AssessmentSession.client_id.in_(list(by_id)), *_matching_sessions(wanted))
        .order_by(AssessmentSession.submitted_at, AssessmentSession.id)
        .limit(BATCH_LIMIT + 1)
    )
    jobs = []
    for row in rows:
        client = by_id[row.client_id]
        chosen = _language(client, "record", language, site_languages)
        jobs.append(
            BatchJob(
                client.id,
                client.code,
                "record",
                chosen,
                report_file_name(client.code, "record", chosen, row, wanted.timezone),
                row.id,
            )
        )
    return sorted(jobs, key=lambda job: job.file_name)


def start_batch(
    session: DbSession,
    *,
    organisation_id: int,
    requested_by: int,
    kind: str,
    language: str | None,
    wanted: BatchFilter,
    total: int,
    client_ids: Collection[int],
    ip: str | None = None,
) -> ReportBatch:
    """Record a new running batch and the clients it holds (audited: filter and size; the caller commits)."""
    batch = ReportBatch(
        organisation_id=organisation_id,
        requested_by=requested_by,
        kind=kind,
        language=language,
        filters=wanted.to_json(),
        client_ids=sorted(set(client_ids)),
        total=total,
    )
    session.add(batch)
    session.flush()
    record_event(
        session,
        "report.batch",
        actor_type="staff",
        actor_id=requested_by,
        object_type="report_batch",
        object_id=batch.id,
        ip=ip,
        details={
            "kind": kind,
            "reports": total,
            **{key: value for key, value in wanted.to_json().items() if value},
        },
    )
    return batch


#: Why a batch download is refused, by the reason recorded in the audit log.
DOWNLOAD_REFUSALS = {
    "clients_out_of_sight": N_(
        "This batch holds reports of clients you no longer see (they moved to another site or to another "
        "counsellor), so it cannot be downloaded. Start a new batch: it holds only the clients you see now."
    ),
    "clients_not_recorded": N_(
        "This batch was made before its clients were recorded, so it cannot be downloaded. "
        "Start a new batch: it holds only the clients you see now."
    ),
}


def download_refusal(batch: ReportBatch, seen_clients: Collection[int]) -> str | None:
    """Why the reader may not download the batch (a `DOWNLOAD_REFUSALS` key), or None when they may.

    `seen_clients` are the batch's clients the reader may see now (others may be in it too): a client who
    moved to another site or counsellor since the batch was made is not, and so the whole ZIP is refused.
    """
    if batch.client_ids is None:
        return "clients_not_recorded"
    return "clients_out_of_sight" if set(batch.client_ids) - set(seen_clients) else None


def check_batch_download(
    session: DbSession,
    batch: ReportBatch,
    seen_clients: Collection[int],
    *,
    actor_id: int,
    ip: str | None = None,
) -> None:
    """Refuse (ReportError, audited) a download unless the reader still sees every client of the batch."""
    reason = download_refusal(batch, seen_clients)
    if reason is None:
        return
    record_event(
        session,
        "report.batch_download_refused",
        actor_type="staff",
        actor_id=actor_id,
        object_type="report_batch",
        object_id=batch.id,
        ip=ip,
        details={"reason": reason, "reports": batch.done},
    )
    raise ReportError(DOWNLOAD_REFUSALS[reason])


def mark_batch_progress(batch: ReportBatch, done: int, failed: int) -> None:
    """Record how far a batch got (and that its worker is alive)."""
    batch.done = done
    batch.failed = failed
    batch.heartbeat_at = utcnow()


def finish_batch(batch: ReportBatch, file_name: str) -> None:
    """Mark a batch done, with the ZIP it produced."""
    batch.status = "done"
    batch.file_name = file_name
    batch.finished_at = batch.heartbeat_at = utcnow()


def fail_batch(batch: ReportBatch, message: str) -> None:
    """Mark a batch failed, with a message a person can act on."""
    batch.status = "failed"
    batch.error = message[:500]
    batch.finished_at = batch.heartbeat_at = utcnow()


def delete_files_of_erased_clients(session: DbSession, folder: Path) -> int:
    """Delete the ZIPs in `folder` of batches holding an erased client's reports (or not recording whose
    reports they hold); returns how many. Call it once the erasure is committed."""
    zips = {path.stem: path for path in sorted(folder.glob("*.zip"))}
    if not zips:
        return 0
    batches = session.execute(
        select(ReportBatch.public_id, ReportBatch.client_ids).where(ReportBatch.public_id.in_(zips))
    ).all()
    held = {client_id for _public_id, client_ids in batches for client_id in client_ids or ()}
    erased = set(session.scalars(select(ClientErasure.client_id).where(ClientErasure.client_id.in_(held))))
    due = [public_id for public_id, client_ids in batches if client_ids is None or erased & set(client_ids)]
    for public_id in due:
        zips[public_id].unlink(missing_ok=True)
    return len(due)
