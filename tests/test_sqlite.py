"""The embedded SQLite database: pragmas on every connection, BEGIN IMMEDIATE, deferred reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from survey_app.db import SQLITE_BEGIN, deferred_transaction
from survey_app.extensions import db
from tests.conftest import dispose_engines, make_app


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
