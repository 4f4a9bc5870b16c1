"""The embedded SQLite database: pragmas on every connection, BEGIN IMMEDIATE, deferred reads, lookups."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask, session
from sqlalchemy import select, text, update

from survey_app.db import SQLITE_BEGIN, WriterTurn, deferred_transaction
from survey_app.extensions import db
from survey_app.models import ClientModeSession
from survey_app.models.base import utcnow
from survey_app.services.client_access import ClientModeLookup
from survey_app.web.client.guard import CLIENT_MODE_KEY, client_mode_lookup
from tests.client.support import hand_over_committed
from tests.conftest import dispose_engines, make_app, staff_password_hash


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on its own SQLite file (whatever database the rest of the suite uses)."""
    app = make_app(f"sqlite:///{tmp_path / 'survey.sqlite3'}", tmp_path / "instance")
    with app.app_context():
        db.create_all()
    yield app
    dispose_engines(app)


def _other_writer_can_start(path: str) -> bool:
    """Can a second connection take the write lock right now (without waiting)?"""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_every_connection_gets_wal_busy_timeout_foreign_keys_and_normal_sync(sqlite_app: Flask) -> None:
    with sqlite_app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_a_transaction_takes_the_write_lock_at_begin_even_before_it_writes(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        path = db.engine.url.database
        assert path is not None
        assert _other_writer_can_start(path)
        db.session.execute(text("SELECT count(*) FROM organisations"))  # a read opens the transaction
        assert not _other_writer_can_start(path), "BEGIN IMMEDIATE should hold the write lock"
        db.session.rollback()
        assert _other_writer_can_start(path)


def test_deferred_transaction_reads_without_holding_the_write_lock(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        path = db.engine.url.database
        assert path is not None
        with deferred_transaction(db.session) as session:
            assert session.execute(text("SELECT count(*) FROM organisations")).scalar() == 0
            assert _other_writer_can_start(path)
        assert not db.session().in_transaction()


def test_the_execution_option_chooses_the_begin_mode_on_a_core_connection(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        path = db.engine.url.database
        assert path is not None
        with db.engine.connect().execution_options(**{SQLITE_BEGIN: "DEFERRED"}) as conn:
            conn.execute(text("SELECT 1"))
            assert _other_writer_can_start(path)


def test_deferred_transaction_refuses_to_join_a_transaction_already_open(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        db.session.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError, match="commit or roll back"), deferred_transaction(db.session):
            pass
        db.session.rollback()


def test_ddl_is_transactional_so_a_failed_change_leaves_nothing_behind(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        with pytest.raises(Exception, match="syntax error"), db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE half_written (id INTEGER)"))
            conn.execute(text("THIS IS NOT SQL"))
        with db.engine.connect() as conn:
            names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE name = 'half_written'").all()
        assert names == []


def _look_up_in_a_request(app: Flask, token: str) -> ClientModeLookup | None:
    with app.test_request_context("/client/"):
        session[CLIENT_MODE_KEY] = token
        lookup = client_mode_lookup()
        assert not db.session().in_transaction(), "the lookup must leave no transaction open"
        return lookup


def _mode_row(app: Flask) -> ClientModeSession:
    with app.app_context():
        row = db.session.scalar(select(ClientModeSession))
        assert row is not None
        db.session.expunge(row)
        return row


def test_a_client_mode_lookup_with_nothing_to_write_is_not_held_up_by_a_writer(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        token, _public_id = hand_over_committed(db.session, tag="READ", password_hash=staff_password_hash())
        path = db.engine.url.database
        assert path is not None
    writer = sqlite3.connect(path, isolation_level=None)
    found: list[ClientModeLookup | None] = []
    reader = threading.Thread(target=lambda: found.append(_look_up_in_a_request(sqlite_app, token)))
    try:
        writer.execute("BEGIN IMMEDIATE")  # another worker's submit holds the write lock
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive(), "the read waited for the write lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        reader.join()
    assert found[0] is not None and found[0].state == "active" and not found[0].changed
    assert found[0].row.assessment.questionnaires, "what the lookup loaded stays readable after it"


def test_a_client_mode_lookup_that_must_write_writes_and_commits(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        token, _public_id = hand_over_committed(db.session, tag="TOUCH", password_hash=staff_password_hash())
        db.session.execute(update(ClientModeSession).values(last_seen_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
    lookup = _look_up_in_a_request(sqlite_app, token)
    assert lookup is not None and lookup.state == "locked" and lookup.changed
    assert _mode_row(sqlite_app).locked_at is not None  # idle for longer than the timeout: locked

    with sqlite_app.app_context():
        db.session.execute(update(ClientModeSession).values(
            locked_at=None, last_seen_at=utcnow() - timedelta(minutes=1)))  # fmt: skip
        db.session.commit()
    seen_before = _mode_row(sqlite_app).last_seen_at
    lookup = _look_up_in_a_request(sqlite_app, token)
    assert lookup is not None and lookup.state == "active" and lookup.changed
    assert _mode_row(sqlite_app).last_seen_at > seen_before


HOLD_LOCK_FILE = """
import fcntl, os, sys, time
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("holding", flush=True)
sys.stdin.readline()
"""


def _lock_file_is_free(path: str) -> bool:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def _hold_lock_file(path: str) -> subprocess.Popen[str]:
    """Another worker that holds the lock file until its standard input is closed."""
    command = [sys.executable, "-c", HOLD_LOCK_FILE, path]
    other = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "holding"
    return other


def test_a_writer_turn_that_times_out_gives_the_lock_back_when_it_comes(tmp_path: Path) -> None:
    database = str(tmp_path / "survey.sqlite3")
    lock_file = f"{database}-writer.lock"
    turn = WriterTurn(database)
    with _hold_lock_file(lock_file) as other:
        started = time.monotonic()
        assert not turn.acquire(timeout=0.3)  # the other worker keeps its turn
        assert 0.25 < time.monotonic() - started < 3
        assert other.stdin is not None
        other.stdin.close()  # the other worker's turn ends
    deadline = time.monotonic() + 5
    while not _lock_file_is_free(lock_file) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _lock_file_is_free(lock_file), "the late grant of the abandoned wait was kept"
    assert turn.acquire(timeout=1)
    assert not _lock_file_is_free(lock_file)
    turn.release()
    assert _lock_file_is_free(lock_file)


def test_a_waiting_writer_gets_its_turn_as_soon_as_the_other_worker_lets_go(tmp_path: Path) -> None:
    database = str(tmp_path / "survey.sqlite3")
    turn = WriterTurn(database)
    with _hold_lock_file(f"{database}-writer.lock") as other:
        assert other.stdin is not None
        threading.Timer(0.2, other.stdin.close).start()
        started = time.monotonic()
        assert turn.acquire(timeout=10)
        assert time.monotonic() - started < 2
        turn.release()
