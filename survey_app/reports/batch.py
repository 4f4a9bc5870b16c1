"""Making a batch of reports: a process pool whose workers build the app once, and one ZIP.

Each worker process builds the app once (same configuration as the caller), then renders job after job, each
in a fresh app context with its own database session, and sends the PDF back; it writes nothing to the
database. The caller writes every PDF into the ZIP as it arrives (names fixed by the jobs) with an `index.csv`
that lists every report and, for any that could not be made, why. With one worker (or inside a test's
transaction) the jobs run in the caller's own process and session.

Workers come from a fork server that has imported the app and WeasyPrint once: starting a worker is cheap, and
it is safe from a threaded web worker.
"""

from __future__ import annotations

import csv
import io
import logging
import multiprocessing
import multiprocessing.util
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from survey_app.db import DbSession, deferred_transaction
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import Client
from survey_app.services.report_batches import BatchJob
from survey_app.services.reports import ReportError

__all__ = ["BatchOutcome", "JobResult", "WorkerSettings", "default_workers", "render_job", "write_batch"]

logger = logging.getLogger(__name__)
_OVERRIDES = ("DATABASE_URL", "SURVEY_INSTANCE_PATH", "SECRET_KEY", "QUESTIONNAIRE_DIR")
_worker_app: Flask | None = None


def default_workers() -> int:
    """One worker per core this process may use (at most four)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to build the same app as the caller, and whether names go on the reports."""

    config_name: str
    overrides: dict[str, str]
    show_names: bool = False

    @classmethod
    def of(cls, app: Flask, *, show_names: bool = False) -> WorkerSettings:
        """The settings of `app` (its database, instance folder, secret key and questionnaires)."""
        values = {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SURVEY_INSTANCE_PATH": app.instance_path,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "QUESTIONNAIRE_DIR": app.config["QUESTIONNAIRE_DIR"],
        }
        return cls(app.config.get("ENV_NAME", "development"), values, show_names)


@dataclass(frozen=True)
class JobResult:
    """A job and its PDF, or why it could not be made."""

    job: BatchJob
    pdf: bytes | None = None
    error: str | None = None


@dataclass
class BatchOutcome:
    """What a batch produced: the ZIP and how many reports were made or failed."""

    path: Path
    done: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def render_job(session: DbSession, job: BatchJob, *, show_names: bool) -> JobResult:
    """Render one job in the current app context (a failure becomes a message, never an exception)."""
    from survey_app.reports.documents import render_report, report_pdf

    try:
        client = session.get(Client, job.client_id)
        if client is None:
            return JobResult(job, error="the client no longer exists")
        assessment = session.get(AssessmentSession, job.session_id) if job.session_id else None
        if job.kind == "record" and (assessment is None or assessment.client_id != client.id):
            return JobResult(job, error="the session no longer exists")
        rendered = render_report(
            session, client, job.kind, job.language, show_names=show_names, assessment=assessment
        )
        return JobResult(job, pdf=report_pdf(rendered))
    except ReportError as error:
        return JobResult(job, error=str(error))
    except Exception as error:  # one bad report must not stop the batch; the log has the traceback
        logger.exception("report %s of client %s failed", job.kind, job.client_id)
        return JobResult(job, error=f"could not be made ({type(error).__name__}); see the application log")


def _start_worker(settings: WorkerSettings) -> None:
    """Build the app once in this worker process; its temporary font files go when the worker stops."""
    global _worker_app
    from survey_app import create_app
    from survey_app.reports.pdf import release

    _worker_app = create_app(settings.config_name, **settings.overrides)
    multiprocessing.util.Finalize(None, release, exitpriority=10)


def _work(job: BatchJob, show_names: bool) -> JobResult:
    """One job in a worker: a read-only (deferred) transaction, so workers never wait for each other."""
    from survey_app.extensions import db

    assert _worker_app is not None, "worker not started"
    with _worker_app.app_context(), deferred_transaction(db.session) as reading:
        return render_job(reading, job, show_names=show_names)


def _pool_context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["survey_app.reports.documents", "weasyprint"])
        return context
    return multiprocessing.get_context("spawn")


def _results(
    jobs: list[BatchJob], workers: int, settings: WorkerSettings | None, session: DbSession | None
) -> Iterator[JobResult]:
    show_names = settings.show_names if settings else False
    if workers <= 1 or settings is None or len(jobs) <= 1:
        assert session is not None, "running in this process needs a database session"
        for job in jobs:
            yield render_job(session, job, show_names=show_names)
        return
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=_pool_context(),
        initializer=_start_worker,
        initargs=(settings,),
    ) as pool:
        futures = [pool.submit(_work, job, show_names) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def _index(results: Iterable[JobResult]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "client", "kind", "language", "status", "problem"])
    for result in sorted(results, key=lambda item: item.job.file_name):
        job = result.job
        status = "made" if result.pdf is not None else "not made"
        writer.writerow([job.file_name, job.client_code, job.kind, job.language, status, result.error or ""])
    return buffer.getvalue().encode("utf-8")


def write_batch(
    jobs: list[BatchJob],
    path: Path,
    *,
    workers: int,
    settings: WorkerSettings | None,
    session: DbSession | None = None,
    on_progress: Callable[[int, int], None] = lambda done, failed: None,
) -> BatchOutcome:
    """Make every job's PDF into one ZIP at `path` (written beside it, then moved into place)."""
    outcome = BatchOutcome(path)
    partial = path.with_name(path.name + ".part")
    summaries: list[JobResult] = []
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for result in _results(jobs, workers, settings, session):
            if result.pdf is not None:
                archive.writestr(result.job.file_name, result.pdf)
                outcome.done += 1
            else:
                outcome.failed += 1
                outcome.errors.append(f"{result.job.file_name}: {result.error}")
            summaries.append(JobResult(result.job, b"" if result.pdf is not None else None, result.error))
            on_progress(outcome.done, outcome.failed)
        archive.writestr("index.csv", _index(summaries))
    os.chmod(partial, 0o600)
    partial.replace(path)
    return outcome
