"""`flask audit verify` finds any edited or removed event; signed checkpoints catch removed newest events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import text

from survey_app.extensions import db as _db
from survey_app.services.audit import record_event
from tests.conftest import dispose_engines, make_app


@pytest.fixture
def audited_app(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on its own database holding six committed audit events."""
    app = make_app(
        fresh_database_url, tmp_path / "instance", AUDIT_CHECKPOINT_PATH=str(tmp_path / "cp.jsonl")
    )
    with app.app_context():
        _db.create_all()
        for number in range(6):
            record_event(_db.session, "test.event", details={"n": number})
        _db.session.commit()
    yield app
    dispose_engines(app)


def _run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["audit", *args])


def _tamper(app: Flask, statement: str) -> None:
    """What the database owner could do: drop the append-only triggers, then change rows."""
    with app.app_context(), _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text(statement))


def test_an_intact_trail_verifies(audited_app: Flask) -> None:
    result = _run(audited_app, "verify")
    assert result.exit_code == 0 and "verified: 6 events, 0 checkpoints" in result.stdout


@pytest.mark.parametrize(
    ("statement", "event_id", "reason"),
    [
        ("UPDATE audit_events SET details = '{\"n\": 99}' WHERE id = 4", 4, "changed"),
        ("DELETE FROM audit_events WHERE id = 2", 3, "removed"),
    ],
)
def test_an_edited_or_removed_event_is_named_and_the_exit_status_is_1(
    audited_app: Flask, statement: str, event_id: int, reason: str
) -> None:
    _tamper(audited_app, statement)
    result = _run(audited_app, "verify")
    assert result.exit_code == 1
    assert f"BROKEN at event {event_id}" in result.stderr and reason in result.stderr


def test_removing_the_newest_events_is_caught_by_a_checkpoint(audited_app: Flask) -> None:
    # Without a checkpoint a shortened chain still verifies: that is the gap checkpoints close.
    checkpoint = _run(audited_app, "checkpoint")
    assert checkpoint.exit_code == 0 and "event 6, 6 events" in checkpoint.stdout
    _tamper(audited_app, "DELETE FROM audit_events WHERE id >= 5")
    result = _run(audited_app, "verify")
    assert result.exit_code == 1 and "BROKEN at event 6" in result.stderr and "missing" in result.stderr


def test_emptying_the_table_is_caught_too(audited_app: Flask) -> None:
    _run(audited_app, "checkpoint")
    _tamper(audited_app, "DELETE FROM audit_events")
    assert _run(audited_app, "verify").exit_code == 1


def test_a_forged_checkpoint_line_is_refused(audited_app: Flask, tmp_path: Path) -> None:
    _run(audited_app, "checkpoint")
    path = tmp_path / "cp.jsonl"
    path.write_text(path.read_text().replace('"count": 6', '"count": 4'))
    result = _run(audited_app, "verify")
    assert result.exit_code == 1 and "wrong signature" in result.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"\xd0\xcf\x11\xe0 binary\n",
        b"null\n",
        b'"a line"\n',
        b'{"count": 6, "event_id": 6, "hash": "x", "mac": 5, "taken_at": "now"}\n',
        '{"count": 6, "event_id": 6, "hash": "x", "mac": "\u00e9", "taken_at": "now"}\n'.encode(),
    ],
)
def test_an_unreadable_checkpoint_file_cannot_be_trusted(
    audited_app: Flask, tmp_path: Path, content: bytes
) -> None:
    _run(audited_app, "checkpoint")
    path = tmp_path / "cp.jsonl"
    path.write_bytes(path.read_bytes() + content)
    result = _run(audited_app, "verify")
    assert result.exit_code == 1, result.output
    assert "Audit checkpoints cannot be trusted" in result.stderr and "cp.jsonl" in result.stderr


def test_a_checkpoint_path_that_is_a_folder_is_a_clear_message(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = make_app(fresh_database_url, tmp_path / "instance", AUDIT_CHECKPOINT_PATH=str(tmp_path))
    with app.app_context():
        _db.create_all()
        record_event(_db.session, "test.event", details={"n": 1})
        _db.session.commit()
    try:
        for command, message in (("checkpoint", "not written"), ("verify", "cannot be trusted")):
            result = _run(app, command)
            assert result.exit_code == 1, result.output
            assert message in result.stderr and "cannot be" in result.stderr
    finally:
        dispose_engines(app)
