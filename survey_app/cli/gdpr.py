"""``flask gdpr export|erase``: a client's right of access (JSON or PDF) and right to erasure."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app, render_template
from flask.cli import AppGroup
from flask_babel import force_locale

from survey_app.extensions import db
from survey_app.models.people import Client
from survey_app.services.exports.packages import delete_removed_files, package_folder
from survey_app.services.gdpr import GdprError, client_record, erase_client, find_client
from survey_app.services.report_batches import BATCH_FOLDER, delete_files_of_erased_clients

gdpr_cli = AppGroup("gdpr", help="A client's rights: access to their record, erasure.")


def _client(code: str) -> Client:
    client = find_client(db.session, code)
    if client is None:
        raise click.ClickException(f"No client with code {code.strip().upper()!r}.")
    return client


def render_record_pdf(record: dict[str, Any]) -> bytes:
    """The record as a readable PDF (the reports' renderer: embedded app fonts, PDF/A-2a, nothing fetched)."""
    from survey_app.reports.pdf import render_pdf

    with force_locale(record["client"]["preferred_language"]):  # in the client's language
        html = render_template("gdpr/record.html", record=record)
    return render_pdf(html, stylesheets=())


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


@gdpr_cli.command("export")
@click.argument("client_code")
@click.option("--format", "fmt", type=click.Choice(["json", "pdf"]), default="json", show_default=True)
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write."
)
def export_command(client_code: str, fmt: str, out: Path) -> None:
    """Write everything kept about a client to FILE (readable only by you); audited."""
    from survey_app.services.audit import record_event

    if not out.parent.is_dir():
        raise click.ClickException(f"The folder {out.parent} does not exist; nothing was written.")
    client = _client(client_code)
    record = client_record(db.session, client)
    data = (
        json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8")
        if fmt == "json"
        else render_record_pdf(record)
    )
    try:
        _write_private(out, data)
    except OSError as error:
        raise click.ClickException(f"Cannot write {out}: {error.strerror}.") from None
    record_event(
        db.session, "gdpr.access_export", object_type="client", object_id=client.id, details={"format": fmt}
    )
    db.session.commit()
    click.echo(f"Wrote the record of {client.code} ({fmt}, {len(data)} bytes) to {out}.")


@gdpr_cli.command("erase")
@click.argument("client_code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(client_code: str, yes: bool) -> None:
    """Erase a client's identifiers and link key; research data stays only under a recorded legal basis."""
    client = _client(client_code)
    code = client.code
    if not yes:
        click.confirm(f"Erase {code}? This cannot be undone", abort=True)
    try:
        report = erase_client(db.session, client)
    except GdprError as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    delete_removed_files(db.session, package_folder(Path(current_app.instance_path)))
    delete_files_of_erased_clients(db.session, Path(current_app.instance_path) / BATCH_FOLDER)
    removed = (
        ", ".join(f"{table} {count}" for table, count in sorted(report.removed.items())) or "nothing else"
    )
    click.echo(f"Erased {code}: removed {removed}.")
    if report.research_data_kept:
        click.echo(f"Pseudonymised research data kept under the recorded legal basis: {report.legal_basis}")
    else:
        click.echo("No research data kept (no recorded legal basis, or no research consent).")
