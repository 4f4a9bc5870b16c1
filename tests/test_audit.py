"""The audit trail: a hash chain that detects edited and removed events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select, text

from survey_app.extensions import db as _db
from survey_app.models import AuditEvent
from survey_app.models.audit import GENESIS_HASH
from survey_app.services.audit import event_hash, record_event, verify_chain
from tests.conftest import dispose_engines, make_app


def test_events_form_a_chain_that_verifies(db: SQLAlchemy) -> None:
    first = record_event(db.session, "auth.sign_in", actor_type="staff", actor_id=7, ip="127.0.0.1")
    second = record_event(
        db.session, "client.view", actor_type="staff", actor_id=7, object_type="client", object_id=42
    )
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.object_id == "42"
    assert len(second.hash) == 64 and second.hash != first.hash
    assert verify_chain(db.session) is None


def test_the_hash_covers_every_recorded_field(db: SQLAlchemy) -> None:
    event = record_event(db.session, "export.run", details={"rows": 10, "format": "csv"})
    fields = {
        name: getattr(event, name)
        for name in (
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
    }
    assert event_hash(fields) == event.hash
    for name, other in [
        ("action", "export.other"),
        ("details", {"rows": 11, "format": "csv"}),
        ("ip", "10.0.0.9"),
    ]:
        assert event_hash({**fields, name: other}) != event.hash


@pytest.mark.parametrize("details", [{"score": 12.5}, {"nested": {"value": 1.0}}, {"when": object()}])
def test_details_refuse_floats_and_objects(db: SQLAlchemy, details: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        record_event(db.session, "test.event", details=details)


def test_unknown_actor_types_are_refused(db: SQLAlchemy) -> None:
    with pytest.raises(ValueError, match="actor_type"):
        record_event(db.session, "test.event", actor_type="robot")


# ---------------------------------------------------------------- tampering, in a throwaway database
@pytest.fixture
def chained_app(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on its own database holding five committed audit events."""
    app = make_app(fresh_database_url, tmp_path / "instance")
    with app.app_context():
        _db.create_all()
        for number in range(5):
            record_event(_db.session, "test.event", actor_type="system", details={"n": number})
        _db.session.commit()
    yield app
    dispose_engines(app)


def _tamper(app: Flask, statement: str) -> None:
    """Run ``statement`` on a raw connection after dropping the append-only triggers."""
    with app.app_context(), _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text(statement))


def _verify(app: Flask) -> tuple[int, str] | None:
    with app.app_context():
        broken = verify_chain(_db.session)
        _db.session.rollback()
    return None if broken is None else (broken.event_id, broken.reason)


def test_an_edited_event_is_detected(chained_app: Flask) -> None:
    assert _verify(chained_app) is None
    _tamper(chained_app, "UPDATE audit_events SET actor_id = 99 WHERE id = 3")
    broken = _verify(chained_app)
    assert broken is not None
    assert broken[0] == 3 and "changed" in broken[1]


def test_a_deleted_event_is_detected_at_the_next_one(chained_app: Flask) -> None:
    _tamper(chained_app, "DELETE FROM audit_events WHERE id = 2")
    broken = _verify(chained_app)
    assert broken is not None
    assert broken[0] == 3 and "removed" in broken[1]


def test_an_event_whose_hash_was_recomputed_still_breaks_the_link(chained_app: Flask) -> None:
    with chained_app.app_context():
        row = _db.session.get(AuditEvent, 2)
        assert row is not None
        fields = {
            name: getattr(row, name)
            for name in (
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
        }
        forged = event_hash({**fields, "actor_id": 99})
        _db.session.rollback()
    _tamper(chained_app, f"UPDATE audit_events SET actor_id = 99, hash = '{forged}' WHERE id = 2")
    broken = _verify(chained_app)
    assert broken is not None and broken[0] == 3


def test_concurrent_appenders_keep_one_unbroken_chain(chained_app: Flask) -> None:
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            with chained_app.app_context():
                for number in range(10):
                    record_event(_db.session, "test.concurrent", details={"worker": worker, "n": number})
                    _db.session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with chained_app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(AuditEvent)) == 45
        assert verify_chain(_db.session) is None
