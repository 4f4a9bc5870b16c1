"""Signed checkpoints of the audit chain, kept outside the database: they catch removed newest events.

The hash chain shows an edited event (its hash no longer matches) and a removed event (the next event's
``prev_hash`` no longer matches). Removing the newest events leaves a shorter chain that still verifies,
and so does emptying the table. A checkpoint closes that gap: it records the id, hash and position of
the newest event at a moment, as one JSON line signed with HMAC-SHA256, appended to a file outside the
database (``AUDIT_CHECKPOINT_PATH``; in production on storage the database administrators cannot
write, or shipped to a log server). ``flask audit verify`` then also checks that every checkpointed
event is still there, unchanged and at the same position. Events newer than the last checkpoint are
covered by the next one: ``flask audit checkpoint`` runs every few minutes from a timer.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select

from survey_app.db import DbSession
from survey_app.models.audit import AuditEvent
from survey_app.models.base import utcnow
from survey_app.services.audit import ChainBreak

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "append_checkpoint",
    "checkpoint_key",
    "current_checkpoint",
    "read_checkpoints",
    "verify_checkpoints",
]


class CheckpointError(ValueError):
    """The checkpoint file cannot be trusted (bad signature, unreadable line or file) or written."""


@dataclass(frozen=True)
class Checkpoint:
    """The newest audit event at ``taken_at``: its id, its hash and how many events led up to it."""

    event_id: int
    hash: str
    count: int
    taken_at: str


def checkpoint_key(configured: str, secret_key: str) -> bytes:
    """The signing key: AUDIT_CHECKPOINT_KEY, or one derived from SECRET_KEY."""
    if configured:
        return configured.encode("utf-8")
    return hmac.new(secret_key.encode("utf-8"), b"audit-checkpoint", hashlib.sha256).digest()


def _mac(key: bytes, checkpoint: Checkpoint) -> str:
    payload = json.dumps(asdict(checkpoint), sort_keys=True, separators=(",", ":"))
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def current_checkpoint(session: DbSession) -> Checkpoint | None:
    """A checkpoint of the newest event, or None while the chain is empty."""
    newest = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if newest is None:
        return None
    count = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= newest.id))
    return Checkpoint(newest.id, newest.hash, int(count or 0), utcnow().isoformat(timespec="seconds"))


def append_checkpoint(path: Path, key: bytes, checkpoint: Checkpoint) -> None:
    """Append one signed line to the checkpoint file (locked, flushed to disk); CheckpointError if not."""
    line = json.dumps({**asdict(checkpoint), "mac": _mac(key, checkpoint)}, sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise CheckpointError(f"{path} cannot be written ({error.strerror})") from None


def read_checkpoints(path: Path, key: bytes) -> list[Checkpoint]:
    """Every checkpoint in the file, oldest first; CheckpointError when a line is not genuine."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CheckpointError(f"{path} cannot be read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{path} cannot be read (it is not UTF-8 text): the file was changed") from None
    checkpoints = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not isinstance(data.get("mac"), str):
                raise ValueError("not a signed checkpoint")
            mac = data.pop("mac")
            checkpoint = Checkpoint(**data)
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"{path} line {number} cannot be read ({error})") from None
        if not hmac.compare_digest(mac.encode("utf-8"), _mac(key, checkpoint).encode("utf-8")):
            raise CheckpointError(f"{path} line {number} has a wrong signature: the file was changed")
        checkpoints.append(checkpoint)
    return checkpoints


def verify_checkpoints(session: DbSession, checkpoints: list[Checkpoint]) -> ChainBreak | None:
    """Check the newest checkpointed event is still present, unchanged, at the same position.

    Checking the newest suffices once ``verify_chain`` passes: each event's hash covers the previous
    event's hash, so an unchanged newest checkpointed event vouches for every event before it.
    """
    if not checkpoints:
        return None
    checkpoint = checkpoints[-1]
    row = session.execute(select(AuditEvent.hash).where(AuditEvent.id == checkpoint.event_id)).first()
    if row is None:
        return ChainBreak(
            checkpoint.event_id,
            f"the event in the checkpoint of {checkpoint.taken_at} is missing: events were removed",
        )
    if row.hash != checkpoint.hash:
        return ChainBreak(
            checkpoint.event_id, f"the event differs from the checkpoint of {checkpoint.taken_at}"
        )
    count = int(
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= checkpoint.event_id)
        )
        or 0
    )
    if count != checkpoint.count:
        return ChainBreak(
            checkpoint.event_id,
            f"{checkpoint.count - count} events before the checkpoint of {checkpoint.taken_at} are missing",
        )
    return None
