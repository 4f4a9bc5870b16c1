"""``flask audit verify|checkpoint``: prove the audit trail is complete and unchanged."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models.audit import AuditEvent
from survey_app.services.audit import verify_chain
from survey_app.services.audit_checkpoints import (
    CheckpointError,
    append_checkpoint,
    checkpoint_key,
    current_checkpoint,
    read_checkpoints,
    verify_checkpoints,
)

audit_cli = AppGroup("audit", help="Verify the audit trail and record checkpoints of it.")


def _checkpoint_file() -> tuple[Path, bytes]:
    config = current_app.config
    return Path(config["AUDIT_CHECKPOINT_PATH"]), checkpoint_key(
        config["AUDIT_CHECKPOINT_KEY"], config["SECRET_KEY"]
    )


def _broken(event_id: int, reason: str) -> None:
    click.echo(f"Audit trail BROKEN at event {event_id}: {reason}.", err=True)
    sys.exit(1)


@audit_cli.command("verify")
def verify_command() -> None:
    """Check every event's hash and link, and the newest signed checkpoint; exit 1 at the first break."""
    path, key = _checkpoint_file()
    try:
        checkpoints = read_checkpoints(path, key)
    except CheckpointError as error:
        click.echo(f"Audit checkpoints cannot be trusted: {error}.", err=True)
        sys.exit(1)
    broken = verify_chain(db.session) or verify_checkpoints(db.session, checkpoints)
    count = int(db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    db.session.rollback()
    if broken is not None:
        _broken(broken.event_id, broken.reason)
    newest = (
        f"; newest checkpoint at event {checkpoints[-1].event_id} ({checkpoints[-1].taken_at})"
        if checkpoints
        else ""
    )
    click.echo(f"Audit trail verified: {count} events, {len(checkpoints)} checkpoints{newest}.")
    if not checkpoints:
        click.echo(
            "No checkpoints yet: run `flask audit checkpoint` regularly so removed newest events show."
        )


@audit_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Append a signed checkpoint of the newest event to AUDIT_CHECKPOINT_PATH (run it from a timer)."""
    path, key = _checkpoint_file()
    broken = verify_chain(db.session)
    checkpoint = current_checkpoint(db.session)
    db.session.rollback()
    if broken is not None:
        _broken(broken.event_id, broken.reason)
    if checkpoint is None:
        click.echo("The audit trail is empty: nothing to checkpoint.")
        return
    try:
        append_checkpoint(path, key, checkpoint)
    except CheckpointError as error:
        click.echo(f"Audit checkpoint not written: {error}; check AUDIT_CHECKPOINT_PATH.", err=True)
        sys.exit(1)
    click.echo(f"Checkpoint: event {checkpoint.event_id}, {checkpoint.count} events, written to {path}.")
