"""Running a web report batch: in a background thread with its own app context, progress in the batch row.

The batch row is committed first. The thread makes the reports through the worker pool (one worker per core)
and records progress in short transactions of its own at most every second, so any gunicorn worker can
answer the progress page. The ZIP is kept in the instance folder for a day. A batch whose thread died stops
sending heartbeats; the progress page then calls it interrupted.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.orm import Session

from survey_app.extensions import db
from survey_app.models.base import utcnow
from survey_app.models.people import Client
from survey_app.models.reports import ReportBatch
from survey_app.reports.batch import BatchOutcome, WorkerSettings, default_workers, write_batch
from survey_app.services.report_batches import (
    BATCH_FOLDER,
    BatchJob,
    fail_batch,
    finish_batch,
    mark_batch_progress,
)
from survey_app.services.reports import record_report_render

HEARTBEAT_SECONDS = 1.0
#: How long a finished batch's ZIP is kept.
KEEP_FOR = dt.timedelta(days=1)


def batch_folder(app: Flask) -> Path:
    """Where batch ZIPs are kept (inside the instance folder, mode 0700)."""
    folder = Path(app.instance_path) / BATCH_FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def batch_path(app: Flask, batch: ReportBatch) -> Path:
    """The ZIP of a batch."""
    return batch_folder(app) / f"{batch.public_id}.zip"


def remove_expired(app: Flask, now: dt.datetime | None = None) -> int:
    """Delete batch ZIPs older than KEEP_FOR; returns how many were removed."""
    limit = (now or utcnow()).timestamp() - KEEP_FOR.total_seconds()
    removed = 0
    for path in batch_folder(app).glob("*.zip"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class _Heartbeat:
    """Writes progress to the batch row in its own short transactions, at most every HEARTBEAT_SECONDS."""

    def __init__(self, batch_id: int, enabled: bool) -> None:
        self.batch_id = batch_id
        self.enabled = enabled
        self.last = 0.0

    def record(self, done: int, failed: int) -> None:
        """Write the counts (and that the batch is alive) unless the last write was under a second ago."""
        now = time.monotonic()
        if not self.enabled or now - self.last < HEARTBEAT_SECONDS:
            return
        self.last = now
        with Session(db.engine) as session, session.begin():
            batch = session.get(ReportBatch, self.batch_id)
            if batch is not None:
                mark_batch_progress(batch, done, failed)


def _finish(batch_id: int, jobs: list[BatchJob], outcome: BatchOutcome, ip: str | None) -> None:
    """Record the outcome and audit each client's report (ids only); commits."""
    batch = db.session.get(ReportBatch, batch_id)
    assert batch is not None
    mark_batch_progress(batch, outcome.done, outcome.failed)
    finish_batch(batch, outcome.path.name)
    for job in {job.client_id: job for job in jobs}.values():
        client = db.session.get(Client, job.client_id)
        if client is not None:
            record_report_render(
                db.session,
                client,
                job.kind,
                job.language,
                actor_id=batch.requested_by,
                ip=ip,
                via="web-batch",
                batch=batch.public_id,
            )
    db.session.commit()


def execute_batch(
    app: Flask, batch_id: int, jobs: list[BatchJob], *, show_names: bool, ip: str | None, background: bool
) -> None:
    """Make a committed batch's reports into its ZIP and record the outcome (commits)."""
    with app.app_context():
        batch = db.session.get(ReportBatch, batch_id)
        assert batch is not None
        path, public_id = batch_path(app, batch), batch.public_id
        db.session.commit()
        heartbeat = _Heartbeat(batch_id, background)
        try:
            outcome = write_batch(
                jobs,
                path,
                workers=default_workers() if background else 1,
                settings=WorkerSettings.of(app, show_names=show_names),
                session=db.session,
                on_progress=heartbeat.record,
            )
            _finish(batch_id, jobs, outcome, ip)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("report batch %s failed", public_id)
            failed = db.session.get(ReportBatch, batch_id)
            if failed is not None:
                fail_batch(failed, "The batch stopped with an error; it has been logged.")
                db.session.commit()
            if not background:
                raise


def start_in_background(
    app: Flask, batch_id: int, jobs: list[BatchJob], *, show_names: bool, ip: str | None
) -> None:
    """Run the batch in a daemon thread (the request returns at once)."""
    thread = threading.Thread(
        target=execute_batch,
        args=(app, batch_id, jobs),
        kwargs={"show_names": show_names, "ip": ip, "background": True},
        name=f"report-batch-{batch_id}",
        daemon=True,
    )
    thread.start()
