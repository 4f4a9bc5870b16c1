"""Running a web export: in a background thread with its own app context, reporting progress as it goes.

The run row is committed first; the rows are read in a deferred (read-only) transaction, while a second,
short-lived session records progress every few seconds, so the status page can show it and SQLite's write
lock is never held for long. The data file and its codebook are packed into one zip in the instance folder.
A run whose worker died stops sending heartbeats; the status page then calls it interrupted.
"""

from __future__ import annotations

import re
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from survey_app.db import deferred_transaction
from survey_app.extensions import db
from survey_app.i18n import timezone
from survey_app.models.research import ExportProject, ExportRun
from survey_app.services.exports import (
    EXTENSIONS,
    ExportError,
    ExportRequest,
    check_request,
    fail_run,
    finish_run,
    load_research_key,
    mark_progress,
    project_secret,
    sha256_of,
    write_export,
)
from survey_app.services.exports.packages import PACKAGE_FOLDER, package_folder

HEARTBEAT_SECONDS = 2.0
FHIR_BASE_DEFAULT = "https://recovery-outcomes.example/fhir"


def export_folder(app: Flask) -> Path:
    """Where finished export packages are kept (inside the instance folder, mode 0700)."""
    return package_folder(Path(app.instance_path))


def package_path(app: Flask, run: ExportRun) -> Path:
    """The zip of a finished run."""
    return export_folder(app) / f"{run.public_id}.zip"


def download_name(project: ExportProject, run: ExportRun) -> str:
    """A readable file name: project, layout, format and date."""
    slug = re.sub(r"[^a-z0-9]+", "-", project.name.lower()).strip("-")[:40] or "export"
    return f"{slug}-{run.layout}-{run.format}-{run.started_at:%Y%m%d-%H%M}.zip"


def render_codebook(codebook: Any) -> str:
    """The codebook as a standalone HTML file, its headings in the language of the labels."""
    with force_locale(codebook["provenance"]["request"]["label_language"]):
        return render_template("research/codebook.html", codebook=codebook)


class _Heartbeat:
    """Writes progress to the run row in its own short transactions, at most every HEARTBEAT_SECONDS."""

    def __init__(self, run_id: int, enabled: bool) -> None:
        self.run_id = run_id
        self.enabled = enabled
        self.last = 0.0
        self.total: int | None = None

    def record(self, rows: int | None = None, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        now = time.monotonic()
        if not self.enabled or (rows is not None and now - self.last < HEARTBEAT_SECONDS):
            return
        self.last = now
        with Session(db.engine) as session, session.begin():
            run = session.get(ExportRun, self.run_id)
            if run is not None:
                mark_progress(run, rows or 0)
                run.rows_total = self.total


def execute_run(
    app: Flask, run_id: int, request: ExportRequest, *, actor_id: int, ip: str | None, background: bool
) -> None:
    """Write the export of a committed run, pack it, and record the outcome (commits).

    Whatever stops it, from checking the request to packing the zip, marks the run failed with a reason code
    (its page says it in the reader's language) and audits that, with the researcher's address. The detail
    goes to the log: an `ExportError`'s message, or any other error's traceback (raised again when inline).
    """
    with app.app_context():
        run = db.session.get(ExportRun, run_id)
        assert run is not None
        public_id, project = run.public_id, run.project
        work = Path(app.instance_path) / PACKAGE_FOLDER / public_id
        try:
            _write_and_pack(app, run, project, request, work, actor_id=actor_id, ip=ip, background=background)
        except ExportError as error:
            current_app.logger.warning("research export %s could not run: %s", public_id, error)
            _record_failure(run_id, error.reason, actor_id, ip=ip)
        except Exception as error:
            current_app.logger.exception("research export %s failed", public_id)
            _record_failure(run_id, "error", actor_id, ip=ip, error=type(error).__name__)
            if not background:
                raise
        finally:
            if work.exists():
                for path in work.glob("*"):
                    path.unlink()
                work.rmdir()


def _write_and_pack(
    app: Flask,
    run: ExportRun,
    project: ExportProject,
    request: ExportRequest,
    work: Path,
    *,
    actor_id: int,
    ip: str | None,
    background: bool,
) -> None:
    run_id, public_id = run.id, run.public_id
    selection = check_request(db.session, project, request, as_of=run.started_at, timezone=timezone())
    secret = project_secret(load_research_key(Path(app.instance_path)), project)
    name = download_name(project, run)
    export_folder(app)  # made (mode 0700) before the work folder inside it
    work.mkdir(mode=0o700, exist_ok=True)
    data_path = work / f"{Path(name).stem}.{EXTENSIONS[run.format]}"
    db.session.commit()
    heartbeat = _Heartbeat(run_id, background)
    with deferred_transaction(db.session, snapshot=True) as reading:
        outcome = write_export(
            reading,
            selection,
            secret=secret,
            data_path=data_path,
            render_html=render_codebook,
            run_id=public_id,
            on_progress=lambda rows: heartbeat.record(rows=rows),
            on_total=lambda total: heartbeat.record(total=total),
            fhir_base=app.config.get("RESEARCH_FHIR_BASE", FHIR_BASE_DEFAULT),
        )
    package = package_path(app, run)
    _pack(outcome.files, package)
    finished = db.session.get(ExportRun, run_id)
    assert finished is not None
    finish_run(
        db.session,
        finished,
        outcome,
        actor_id=actor_id,
        ip=ip,
        file_name=package.name,
        package_sha256=sha256_of(package),
    )
    db.session.commit()


def _record_failure(
    run_id: int, reason: str, actor_id: int, *, ip: str | None, error: str | None = None
) -> None:
    db.session.rollback()
    failed = db.session.get(ExportRun, run_id)
    if failed is not None:
        fail_run(db.session, failed, reason, actor_id=actor_id, ip=ip, error=error)
        db.session.commit()


def _pack(files: list[Path], package: Path) -> None:
    temporary = package.with_suffix(".part")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for path in files:
            archive.write(path, arcname=path.name)
    temporary.rename(package)


def start_in_background(
    app: Flask, run_id: int, request: ExportRequest, *, actor_id: int, ip: str | None
) -> None:
    """Run the export in a daemon thread (the request returns at once)."""
    thread = threading.Thread(
        target=execute_run,
        args=(app, run_id, request),
        kwargs={"actor_id": actor_id, "ip": ip, "background": True},
        name=f"export-{run_id}",
        daemon=True,
    )
    thread.start()
