"""Running an export: write the data file and its codebook, checksum them, record the run and audit it.

The caller owns the transactions: it commits the run row from `start_run`, reads inside a deferred (read-only)
transaction for `write_export`, then records the result with `finish_run` or `fail_run` and commits.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from survey_app.db import DbSession
from survey_app.domain.scoring import SCORER_VERSION
from survey_app.exports.csv_out import write_csv, write_csv_lines
from survey_app.exports.fhir_out import FhirSettings, write_fhir_bundle, write_fhir_questionnaires
from survey_app.exports.parquet_out import write_parquet
from survey_app.exports.spss_stata import DTA_MAX_VARIABLES, dta_width_note, write_dta, write_sav
from survey_app.exports.table import ProgressCallback, WriteResult, counted
from survey_app.models.base import utcnow
from survey_app.models.research import ExportProject, ExportRun, ExportRunClient
from survey_app.services.audit import record_event
from survey_app.services.exports.codebook import build_codebook
from survey_app.services.exports.layouts import Table, long_table, scores_table
from survey_app.services.exports.packages import allowances_of
from survey_app.services.exports.projects import ExportError, pseudonymiser
from survey_app.services.exports.selection import ExportRequest, Selection, selection_client_ids
from survey_app.services.exports.wide import wide_table
from survey_app.services.user_messages import N_

EXTENSIONS = {"csv": "csv", "sav": "sav", "dta": "dta", "parquet": "parquet", "fhir": "json"}
HtmlRenderer = Callable[[Mapping[str, Any]], str]
#: Why a run failed, as its row keeps it: a request that cannot be carried out, a research key that is missing
#: or wrong, two columns of the wide layout with one name, or an unexpected error (its detail is in the log).
FAILURE_REASONS = ("request", "research_key", "duplicate_column", "not_asked_code", "error")


@dataclass
class ExportOutcome:
    """What an export wrote: files (data first), rows, checksum and size of the data file, the codebook."""

    files: list[Path]
    rows: int
    sha256: str
    size: int
    codebook: dict[str, Any]
    written: WriteResult = field(default_factory=WriteResult)
    #: Ids of the clients whose sessions the selection covers (read in the export's own transaction).
    client_ids: list[int] = field(default_factory=list)


def app_version() -> str:
    """The installed version of this app."""
    try:
        return metadata.version("survey-app")
    except metadata.PackageNotFoundError:
        return "unknown"


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def start_run(
    session: DbSession, project: ExportProject, request: ExportRequest, *, requested_by: int | None, via: str
) -> ExportRun:
    """A run row in state `running` (flushed; commit it before the long read)."""
    run = ExportRun(
        project_id=project.id,
        requested_by=requested_by,
        via=via,
        layout=request.layout,
        format=request.format,
        options={**request.to_json(), "allowances": allowances_of(project)},
    )
    session.add(run)
    session.flush()
    return run


def build_table(session: DbSession, selection: Selection, secret: bytes) -> Table:
    """The table of the requested layout, its rows still to be read."""
    pseudonym = pseudonymiser(secret)
    builders = {"long": long_table, "scores": scores_table, "wide": wide_table}
    return builders[selection.request.layout](session, selection, pseudonym)


def _expected_progress(table: Table, on_progress: ProgressCallback | None) -> ProgressCallback | None:
    """Progress in the rows `expected_rows` counts, so it ends at that number (rows it does not count,
    such as the long layout's not-asked rows, are left out)."""
    unexpected = table.unexpected_rows
    if on_progress is None or unexpected is None:
        return on_progress
    report = on_progress

    def expected_so_far(rows: int) -> None:
        report(rows - unexpected())

    return expected_so_far


def _write_data(
    table: Table,
    selection: Selection,
    path: Path,
    on_progress: ProgressCallback | None,
    fhir_base: str,
    created: str,
) -> WriteResult:
    rows = counted(table.rows, _expected_progress(table, on_progress))
    request = selection.request
    label = f"{selection.project.name}: {request.layout} layout"
    if request.format == "csv":
        with path.open("w", encoding="utf-8", newline="") as stream:
            if table.csv_neutralised is not None:
                return write_csv_lines(table.variables, rows, stream, table.csv_neutralised)
            return write_csv(table.variables, rows, stream)
    if request.format == "parquet":
        return write_parquet(table.variables, rows, path, metadata={"export": label})
    if request.format == "sav":
        return write_sav(table.variables, rows, path, file_label=label)
    if request.format == "dta":
        return write_dta(table.variables, rows, path, file_label=label)
    settings = FhirSettings(fhir_base, selection.project.id, request.label_language)
    versions = {(q.key, q.version): q for q in table.questionnaires.values()}
    with path.open("w", encoding="utf-8") as stream:
        return write_fhir_bundle(
            table.variables, rows, stream, questionnaires=versions, settings=settings, timestamp=created
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the questionnaires load and rows stream: neither makes
    garbage cycles (reference counting frees the rows), and collecting after every few hundred new objects
    costs a sixth of a large export's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def companion(data_path: Path, suffix: str) -> Path:
    """A file beside the data file: `export.csv` -> `export.codebook.json`."""
    return data_path.with_name(f"{data_path.stem}.{suffix}")


def _check_dta_width(table: Table) -> None:
    """Refuse a Stata file wider than its format holds; note in the codebook one too wide for Stata/BE."""
    count = len(table.variables)
    if count > DTA_MAX_VARIABLES:
        raise ExportError(
            N_(
                "A Stata file holds at most %(most)s variables and this export has %(count)s. Filter it by "
                "questionnaire or timepoint, or export the long layout."
            ),
            most=f"{DTA_MAX_VARIABLES:,}",
            count=f"{count:,}",
        )
    note = dta_width_note(count)
    if note:
        table.notes.append(note)


def write_export(
    session: DbSession,
    selection: Selection,
    *,
    secret: bytes,
    data_path: Path,
    render_html: HtmlRenderer,
    run_id: str | None = None,
    on_progress: ProgressCallback | None = None,
    on_total: Callable[[int], None] | None = None,
    fhir_base: str,
) -> ExportOutcome:
    """Write the data file, then the codebook (JSON and HTML) and, for FHIR, the Questionnaire resources."""
    created = utcnow().isoformat(timespec="seconds")
    with _collector_paused():
        table = build_table(session, selection, secret)
        if selection.request.format == "dta":
            _check_dta_width(table)
        if on_total is not None:
            on_total(table.expected_rows)
        written = _write_data(table, selection, data_path, on_progress, fhir_base, created)
    files = [data_path]
    if selection.request.format == "fhir":
        settings = FhirSettings(fhir_base, selection.project.id, selection.request.label_language)
        extra = companion(data_path, "questionnaires.json")
        with extra.open("w", encoding="utf-8") as stream:
            write_fhir_questionnaires(
                table.questionnaires.values(), stream, settings=settings, timestamp=created
            )
        files.append(extra)
    digest, size = sha256_of(data_path), data_path.stat().st_size
    provenance = _provenance(selection, run_id, created, written, data_path.name, digest, size)
    provenance["other_files"] = {path.name: sha256_of(path) for path in files[1:]}
    codebook = build_codebook(
        variables=table.variables,
        questionnaires=table.questionnaires,
        language=selection.request.label_language,
        provenance=provenance,
        notes=table.notes,
    )
    json_path, html_path = companion(data_path, "codebook.json"), companion(data_path, "codebook.html")
    json_path.write_text(json.dumps(codebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(codebook), encoding="utf-8")
    files += [json_path, html_path]
    clients = selection_client_ids(session, selection)
    return ExportOutcome(files, written.rows, digest, size, codebook, written, clients)


def _provenance(
    selection: Selection,
    run_id: str | None,
    created: str,
    written: WriteResult,
    name: str,
    digest: str,
    size: int,
) -> dict[str, Any]:
    project = selection.project
    return {
        "app": "survey-app",
        "app_version": app_version(),
        "scorer_version": SCORER_VERSION,
        "created_at": created,
        "run": run_id,
        "project": {"id": project.id, "name": project.name},
        "request": selection.request.to_json(),
        "allowances": allowances_of(project),
        "dates": "calendar dates allowed" if project.allow_calendar_dates else "days since intake only",
        "consent": "clients whose decision in force for research is yes at the time of the export",
        "counts": {
            "rows": written.rows,
            "neutralised_cells": written.neutralised_cells,
            "truncated_values": written.truncated_values,
        },
        "data_file": {"name": name, "bytes": size, "sha256": digest},
        "questionnaire_versions": [f"{row.key}:{row.version}" for row in selection.versions],
    }


def _audit_details(run: ExportRun, **extra: Any) -> dict[str, Any]:
    return {
        "project_id": run.project_id,
        "run": run.public_id,
        "layout": run.layout,
        "format": run.format,
        "via": run.via,
        "filters": run.options.get("filters", {}),
        **extra,
    }


def finish_run(
    session: DbSession,
    run: ExportRun,
    outcome: ExportOutcome,
    *,
    actor_id: int | None,
    ip: str | None = None,
    file_name: str | None = None,
    package_sha256: str | None = None,
) -> None:
    """Mark the run done with its counts, checksum and clients, and audit the export (ids, counts, checksums
    only)."""
    now = utcnow()
    run.status, run.finished_at, run.heartbeat_at = "done", now, now
    run.rows_written = run.rows_total = outcome.rows
    run.sha256, run.file_size, run.file_name = outcome.sha256, outcome.size, file_name
    if outcome.client_ids:
        session.execute(
            insert(ExportRunClient), [{"run_id": run.id, "client_id": cid} for cid in outcome.client_ids]
        )
    run.clients_recorded = True
    session.flush()
    extra: dict[str, Any] = {"rows": outcome.rows, "sha256": outcome.sha256, "bytes": outcome.size}
    if package_sha256:
        extra["package_sha256"] = package_sha256
    record_event(
        session,
        "research.export",
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        object_type="export_run",
        object_id=run.id,
        ip=ip,
        details=_audit_details(run, **extra),
    )


def fail_run(
    session: DbSession,
    run: ExportRun,
    reason: str,
    *,
    actor_id: int | None,
    ip: str | None = None,
    error: str | None = None,
) -> None:
    """Mark the run failed with a reason code, and audit it (with the kind of ``error``, never its text)."""
    if reason not in FAILURE_REASONS:
        raise ValueError(f"unknown export failure reason {reason!r}; use one of {', '.join(FAILURE_REASONS)}")
    run.status, run.finished_at, run.error = "failed", utcnow(), reason
    session.flush()
    record_event(
        session,
        "research.export_failed",
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        object_type="export_run",
        object_id=run.id,
        ip=ip,
        details=_audit_details(run, reason=reason, **({"error": error} if error else {})),
    )


def mark_progress(run: ExportRun, rows: int, now: dt.datetime | None = None) -> None:
    """Record how far a run got (the caller commits, in its own short transaction)."""
    run.rows_written = rows
    run.heartbeat_at = now or utcnow()
