"""`flask demo seed`: load the deterministic demo (never in production)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from survey_app.cli.demo_mfa import enrol_demo_accounts
from survey_app.extensions import db
from survey_app.programmes.definition import (
    DEFAULT_PROGRAMME,
    ProgrammeDefinitionError,
    load_programme_definition,
)
from survey_app.questionnaires.problems import QuestionnaireError
from survey_app.questionnaires.registry import PublicationError, QuestionnaireRegistry
from survey_app.services.accounts import hash_password
from survey_app.services.demo import demo_accounts, demo_exists, seed_demo
from survey_app.services.programmes import ProgrammeInstallError
from survey_app.services.questionnaires import store_published_versions

demo_cli = AppGroup("demo", help="Load demo data for trying the app.")

CREDENTIALS_FILE = "demo-credentials.txt"


def _credentials_path() -> Path:
    return Path(current_app.instance_path) / CREDENTIALS_FILE


def _demo_password() -> str:
    """The demo password: generated once and kept in the instance folder, so every run prints the same one."""
    path = _credentials_path()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("password: "):
                return line.removeprefix("password: ").strip()
    return secrets.token_urlsafe(12)


def _write_credentials(password: str) -> Path:
    path = _credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["Demo sign-in (demo data only; every demo account has this password)", f"password: {password}"]
    lines += [f"{role:<12} {email}" for role, email in demo_accounts()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


@demo_cli.command("seed")
@click.option(
    "--clients",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="How many demo clients to create.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo is already loaded.")
@click.option(
    "--seed", type=int, default=2026, show_default=True, help="Random seed: the same seed, the same demo."
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date the demo is built around (default: today).",
)
def seed_command(clients: int, if_empty: bool, seed: int, today: dt.datetime | None) -> None:
    """Create a demo organisation, staff, the Drug Treatment Court programme and clients DEMO-0001 ..."""
    if current_app.config.get("ENV_NAME") == "production":
        click.echo("Error: demo data is not loaded in production (SURVEY_ENV=production).", err=True)
        sys.exit(1)
    if demo_exists(db.session):
        if if_empty:
            click.echo("Demo data is already loaded.")
            return
        click.echo("Error: demo data is already loaded; use an empty database, or --if-empty.", err=True)
        sys.exit(1)
    password = _demo_password()
    try:
        registry = QuestionnaireRegistry(Path(current_app.config["QUESTIONNAIRE_DIR"]))
        store_published_versions(db.session, registry)
        definition = load_programme_definition(DEFAULT_PROGRAMME, registry.versions)
    except (PublicationError, QuestionnaireError, ProgrammeDefinitionError) as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    try:
        with click.progressbar(length=clients, label="Creating demo clients", file=sys.stderr) as bar:
            report = seed_demo(
                db.session,
                definition,
                clients=clients,
                password_hash=hash_password(password),
                today=(today.date() if today else dt.date.today()),
                seed=seed,
                on_progress=bar.update,
            )
    except ProgrammeInstallError as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    credentials = _write_credentials(password)
    enrol_demo_accounts([email for _, email in demo_accounts()], credentials)
    click.echo(
        f"Demo loaded: {report.clients} clients, {report.sessions} sessions, {report.answers} answers."
    )
    click.echo(f"Sign in as counsellor@demo.example.org with the password in {credentials}.")
