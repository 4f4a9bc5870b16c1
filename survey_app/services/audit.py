"""The audit trail: append hash-chained events and verify the chain.

Each event stores ``prev_hash`` (the previous event's ``hash``, or 64 zeros for the first) and
``hash = sha256(canonical JSON of the event including prev_hash)``. Editing an event breaks its own
hash; deleting one breaks the next event's ``prev_hash``. Appends are serialised across processes:
on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the ``BEGIN IMMEDIATE`` write lock
every transaction takes (see ``survey_app.db``). ``UNIQUE(prev_hash)`` makes a fork impossible even
if that serialisation were bypassed. The lock is held until the transaction ends, so keep
transactions that audit short.

Details carry ids and counts only, never health values or answers. Floats are refused so the
canonical JSON (and so the hash) is the same after a round trip through any database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from survey_app.db import DbSession
from survey_app.models.audit import ACTOR_TYPES, GENESIS_HASH, AuditEvent
from survey_app.models.base import utcnow

__all__ = [
    "ADVISORY_LOCK_KEY",
    "ChainBreak",
    "event_hash",
    "record_event",
    "record_staff_event",
    "verify_chain",
]

#: Key of the PostgreSQL advisory lock that serialises appends ("AUDT" as an integer).
ADVISORY_LOCK_KEY = 0x41554454

_HASHED_FIELDS = (
    "occurred_at",
    "actor_type",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "ip",
    "details",
    "prev_hash",
)


@dataclass(frozen=True)
class ChainBreak:
    """The first event at which the chain does not verify, and why."""

    event_id: int
    reason: str


def _check_json_value(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit details key {path}.{key!r} must be a string")
            _check_json_value(item, f"{path}.{key}")
        return
    raise TypeError(f"audit details {path} must be a string, integer, boolean, list or mapping")


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(fields: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex digest of an event's canonical JSON (``fields`` holds the hashed columns)."""
    payload = {name: fields[name] for name in _HASHED_FIELDS}
    payload["occurred_at"] = _timestamp(fields["occurred_at"])
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Built once: every audited request runs them.
_CHAIN_LOCK = select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY))
_LAST_HASH = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_APPEND = insert(AuditEvent).returning(AuditEvent.id)


def _lock_chain(session: DbSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(_CHAIN_LOCK)
    # SQLite: the transaction began with BEGIN IMMEDIATE and so already holds the write lock.


def record_event(
    session: DbSession,
    action: str,
    *,
    actor_type: str = "system",
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    ip: str | None = None,
    details: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain (the caller commits); returns it, as written, outside the session."""
    if actor_type not in ACTOR_TYPES:
        raise ValueError(f"actor_type must be one of {ACTOR_TYPES}, not {actor_type!r}")
    clean_details = dict(details or {})
    _check_json_value(clean_details, "details")
    session.flush()  # what the caller added is written before the event that records it
    _lock_chain(session)
    connection = session.connection()
    prev_hash = connection.scalar(_LAST_HASH)
    fields: dict[str, Any] = {
        "occurred_at": (occurred_at or utcnow()).astimezone(UTC),
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "ip": ip,
        "details": clean_details,
        "prev_hash": prev_hash or GENESIS_HASH,
    }
    fields["hash"] = event_hash(fields)
    event_id = connection.execute(_APPEND, fields).scalar_one()
    return AuditEvent(id=event_id, **fields)


def record_staff_event(
    session: DbSession,
    action: str,
    actor_id: int,
    object_type: str,
    object_id: str | int,
    *,
    ip: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append what a staff member did to one object (``record_event`` with a staff actor)."""
    return record_event(
        session,
        action,
        actor_type="staff",
        actor_id=actor_id,
        object_type=object_type,
        object_id=object_id,
        ip=ip,
        details=details,
    )


def verify_chain(session: DbSession, *, batch_size: int = 1000) -> ChainBreak | None:
    """Walk the whole chain in id order; return the first broken event, or None when it verifies."""
    table = AuditEvent.__table__
    columns = [table.c.id, table.c.hash, *(table.c[name] for name in _HASHED_FIELDS)]
    result = session.execute(select(*columns).order_by(table.c.id).execution_options(yield_per=batch_size))
    expected_prev = GENESIS_HASH
    try:
        for row in result.mappings():
            if row["prev_hash"] != expected_prev:
                return ChainBreak(
                    row["id"], "prev_hash does not match the previous event: an event was removed"
                )
            fields = dict(row)
            if fields["occurred_at"].tzinfo is None:
                fields["occurred_at"] = fields["occurred_at"].replace(tzinfo=UTC)
            if event_hash(fields) != row["hash"]:
                return ChainBreak(
                    row["id"], "hash does not match the event's contents: the event was changed"
                )
            expected_prev = row["hash"]
    finally:
        result.close()  # a server-side cursor on PostgreSQL: close it even when stopping early
    return None
