"""`flask report`: PDF reports of one client, or a batch of clients as one ZIP.

    flask --app wsgi report client GNT-00012 --kind counsellor --out GNT-00012.pdf
    flask --app wsgi report client GNT-00012 --kind client --lang nl --out mijn-verslag.pdf
    flask --app wsgi report client GNT-00012 --kind record --session 5f0c...e1 --out intake.pdf
    flask --app wsgi report batch --site GNT --timepoint t3m --kind counsellor --out t3m.zip

Counsellor reports and records are in the site's language unless `--lang` is given; client reports in the
client's own language. Full names appear only with `--names`, and only where the organisation has turned
names on for its reports. Files are written readable by their owner only. Every report is audited (ids only).
Exit status: 0 written, 2 bad input (nothing written), 1 a batch in which some reports could not be made.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.i18n import timezone
from survey_app.models.people import Client
from survey_app.models.programme import Site
from survey_app.models.reports import REPORT_KINDS
from survey_app.reports.batch import BatchOutcome, WorkerSettings, default_workers, write_batch
from survey_app.reports.documents import render_report, report_pdf
from survey_app.reports.pdf import FontsMissing, check_fonts
from survey_app.services.audit import record_event
from survey_app.services.erased_clients import not_erased
from survey_app.services.report_batches import BatchFilter, BatchJob, select_jobs
from survey_app.services.reports import ReportError, find_session, names_enabled, record_report_render

USAGE_ERROR = 2
report_cli = AppGroup("report", help="PDF reports: of one client, or a batch of clients as a ZIP.")
LANGUAGE = click.Choice(["en", "nl", "fr"])


def _fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _check_folder(out: Path) -> None:
    if not out.parent.is_dir():
        _fail(f"The folder {out.parent} does not exist; nothing was written.")


def _client(code: str) -> Client:
    client = db.session.scalar(select(Client).where(Client.code == code.strip().upper(), not_erased()))
    if client is None:
        _fail(f"No client with code {code.strip().upper()!r}.")
    return client


def _names(client: Client, wanted: bool) -> bool:
    if wanted and not names_enabled(db.session, client.site.organisation_id):
        _fail("Names are turned off for this organisation's reports; an admin can turn them on.")
    return wanted


@report_cli.command("client")
@click.argument("code")
@click.option("--kind", type=click.Choice(REPORT_KINDS), default="counsellor", show_default=True)
@click.option(
    "--lang",
    "language",
    type=LANGUAGE,
    help="Language (default: the client's for --kind client, else the site's).",
)
@click.option("--session", "session_id", help="The session's public id (--kind record).")
@click.option(
    "--names", is_flag=True, help="Print the client's name (only where the organisation allows it)."
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF file to write."
)
def client_command(
    code: str, kind: str, language: str | None, session_id: str | None, names: bool, out: Path
) -> None:
    """Write one PDF report of the client with CODE."""
    _check_folder(out)
    try:
        check_fonts()
        client = _client(code)
        chosen = language or (client.preferred_language if kind == "client" else client.site.default_language)
        assessment = find_session(db.session, client, session_id) if kind == "record" else None
        rendered = render_report(
            db.session, client, kind, chosen, show_names=_names(client, names), assessment=assessment
        )
        data = report_pdf(rendered)
    except (ReportError, FontsMissing) as error:
        _fail(str(error))
    try:
        _write_private(out, data)
    except OSError as error:
        _fail(f"Cannot write {out}: {error.strerror}.")
    record_report_render(db.session, client, kind, chosen, actor_id=None, via="cli", assessment=assessment)
    db.session.commit()
    click.echo(f"Wrote the {kind} report of {client.code} ({chosen}, {len(data):,} bytes) to {out}.")


def _site_id(code: str | None) -> int | None:
    if code is None:
        return None
    site = db.session.scalar(select(Site).where(Site.code == code.strip()))
    if site is None:
        _fail(f"No site with code {code.strip()!r}.")
    return site.id


@report_cli.command("batch")
@click.option("--site", "site_code", help="Only clients of this site (its code).")
@click.option(
    "--timepoint", help="Only clients with a submitted session at this timepoint (its key, e.g. t3m)."
)
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="Sessions submitted on or after.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Sessions submitted on or before.")
@click.option("--kind", type=click.Choice(REPORT_KINDS), default="counsellor", show_default=True)
@click.option("--lang", "language", type=LANGUAGE, help="One language for every report.")
@click.option("--workers", type=click.IntRange(1, 16), help="Worker processes (default: one per core).")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="ZIP file to write."
)
def batch_command(
    site_code: str | None,
    timepoint: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    kind: str,
    language: str | None,
    workers: int | None,
    out: Path,
) -> None:
    """Write the reports of a filtered set of clients into one ZIP, with a progress bar."""
    _check_folder(out)
    try:
        check_fonts()
        wanted = BatchFilter(
            _site_id(site_code),
            timepoint,
            start.date() if start else None,
            end.date() if end else None,
            timezone(),
        )
        jobs = select_jobs(db.session, select(Client).where(not_erased()), kind, wanted, language)
    except (ReportError, FontsMissing) as error:
        _fail(str(error))
    if not jobs:
        _fail("No client matches the filter: nothing to write.")
    db.session.commit()  # end the read before the workers start
    count = workers or default_workers()
    outcome = _make_with_progress(jobs, out, count)
    _audit_batch(jobs, kind, wanted, outcome)
    click.echo(f"Wrote {outcome.done} reports to {out} ({count} workers).")
    if outcome.failed:
        click.echo(f"{outcome.failed} reports could not be made (listed in index.csv):", err=True)
        for line in outcome.errors[:20]:
            click.echo(f"  {line}", err=True)
        sys.exit(1)


def _make_with_progress(jobs: list[BatchJob], out: Path, workers: int) -> BatchOutcome:
    with click.progressbar(
        length=len(jobs), label=f"Making {len(jobs)} reports", file=sys.stderr, show_pos=True
    ) as bar:
        seen = [0]

        def advance(done: int, failed: int) -> None:
            """Move the bar by the reports finished since the last call."""
            bar.update(done + failed - seen[0])
            seen[0] = done + failed

        return write_batch(
            jobs,
            out,
            workers=workers,
            settings=WorkerSettings.of(current_app),
            session=db.session,
            on_progress=advance,
        )


def _audit_batch(jobs: list[BatchJob], kind: str, wanted: BatchFilter, outcome: BatchOutcome) -> None:
    for job in {job.client_id: job for job in jobs}.values():
        client = db.session.get(Client, job.client_id)
        if client is not None:
            record_report_render(db.session, client, kind, job.language, actor_id=None, via="cli-batch")
    details = {key: value for key, value in wanted.to_json().items() if value}
    record_event(
        db.session,
        "report.batch",
        object_type="report_batch",
        details={"kind": kind, "reports": outcome.done, "failed": outcome.failed, **details},
    )
    db.session.commit()
