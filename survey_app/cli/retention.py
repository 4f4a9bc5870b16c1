"""``flask retention show|set|apply``: per-organisation retention and the run that applies it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models.programme import Organisation
from survey_app.models.security import PrivacySettings
from survey_app.services.exports.packages import (
    PACKAGE_KEEP_DAYS,
    delete_removed_files,
    expire_packages,
    package_folder,
)
from survey_app.services.report_batches import BATCH_FOLDER, delete_files_of_erased_clients
from survey_app.services.retention import apply_retention, set_privacy_settings

retention_cli = AppGroup("retention", help="Retention periods per organisation, and applying them.")


@retention_cli.command("show")
def show_command() -> None:
    """List every organisation's retention period and whether a research legal basis is recorded."""
    rows = db.session.execute(
        select(Organisation.name, PrivacySettings.retention_months, PrivacySettings.research_legal_basis)
        .outerjoin(PrivacySettings, PrivacySettings.organisation_id == Organisation.id)
        .order_by(Organisation.name)
    )
    for name, months, basis in rows:
        period = f"{months} months after the programme ended" if months else "kept (no retention period set)"
        click.echo(f"{name}: {period}; research legal basis: {basis or 'none recorded'}")


@retention_cli.command("set")
@click.option("--organisation", required=True, help="Organisation name.")
@click.option("--months", type=click.IntRange(1, 1200), help="Months after a client's programme ended.")
@click.option("--keep", is_flag=True, help="No retention period: keep the data.")
@click.option(
    "--research-basis", help="The legal basis (DPIA reference) for keeping pseudonymised research data."
)
def set_command(organisation: str, months: int | None, keep: bool, research_basis: str | None) -> None:
    """Set an organisation's retention period (and research legal basis); audited."""
    if (months is None) == (not keep):
        raise click.UsageError("give either --months N or --keep")
    org = db.session.scalar(select(Organisation).where(Organisation.name == organisation))
    if org is None:
        raise click.ClickException(f"No organisation called {organisation!r}; see `flask retention show`.")
    current = db.session.get(PrivacySettings, org.id)
    basis = (
        research_basis if research_basis is not None else (current.research_legal_basis if current else None)
    )
    try:
        set_privacy_settings(db.session, org, retention_months=months, research_legal_basis=basis)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(
        f"{org.name}: retention {'kept' if keep else f'{months} months'}; research basis {basis or 'none'}."
    )


@retention_cli.command("apply")
@click.option("--dry-run", is_flag=True, help="Only report what would be removed.")
def apply_command(dry_run: bool) -> None:
    """Erase clients past their organisation's retention period, and research export packages past their
    keeping time; report what was removed."""
    due = apply_retention(db.session, dry_run=True).clients_erased
    db.session.rollback()
    with click.progressbar(length=max(due, 1), label="Applying retention", file=sys.stderr) as bar:
        report = apply_retention(db.session, dry_run=dry_run, on_client=lambda: bar.update(1))
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "would erase" if dry_run else "erased"
    for entry in report.organisations:
        kept = "" if dry_run else f" (research data kept for {entry.research_data_kept})"
        click.echo(
            f"{entry.organisation}: {verb} {entry.clients_erased} clients past {entry.months} months{kept}."
        )
    if not report.organisations:
        click.echo("No organisation has a retention period: nothing to do (see `flask retention set`).")
    sessions = "to remove" if dry_run else "removed"
    click.echo(f"Ended staff sign-in sessions {sessions}: {report.staff_sessions_removed}.")
    if not dry_run:
        keep_days = int(current_app.config.get("RESEARCH_PACKAGE_DAYS", PACKAGE_KEEP_DAYS))
        expired = expire_packages(db.session, keep_days)
        db.session.commit()
        deleted = delete_removed_files(db.session, package_folder(Path(current_app.instance_path)))
        click.echo(f"Research export packages expired: {expired}; files deleted: {deleted}.")
        batches = delete_files_of_erased_clients(db.session, Path(current_app.instance_path) / BATCH_FOLDER)
        click.echo(f"Report batches holding erased clients' reports deleted: {batches}.")
