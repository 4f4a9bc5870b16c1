"""Database plumbing: SQLite pragmas, BEGIN IMMEDIATE, deferred read transactions, error wording.

SQLite write transactions use ``BEGIN IMMEDIATE`` by default (the documented SQLAlchemy pysqlite
recipe: the driver's own transaction handling is switched off on connect, and SQLAlchemy's "begin"
event emits BEGIN itself). A deferred read-then-write transaction would fail with SQLITE_BUSY under
concurrency, so every transaction takes the write lock up front. The threads of one process take turns
before they ask for it (one lock per database file, released at COMMIT or ROLLBACK), so they are served
in turn rather than all polling SQLite's lock. Long read-only work (exports,
reports, health checks) should not hold the write lock; it uses :func:`deferred_transaction`::

    with deferred_transaction(db.session) as session:
        rows = session.execute(select(...)).all()

or, on a Core connection, the execution option directly::

    conn = engine.connect().execution_options(sqlite_begin="DEFERRED")

On PostgreSQL both are no-ops: its MVCC needs no such care.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, scoped_session

from config import SQLITE_BUSY_TIMEOUT_SECONDS

#: What services take as their session: a plain Session, or Flask-SQLAlchemy's ``db.session`` proxy.
DbSession: TypeAlias = Session | scoped_session[Any]

#: Execution option naming the BEGIN mode on SQLite: "IMMEDIATE" (default), "DEFERRED" or "EXCLUSIVE".
SQLITE_BEGIN = "sqlite_begin"
_BEGIN_MODES = {"IMMEDIATE", "DEFERRED", "EXCLUSIVE"}

# The busy timeout is the driver's `timeout` (SQLALCHEMY_ENGINE_OPTIONS, config.SQLITE_BUSY_TIMEOUT_SECONDS).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def _on_sqlite_connect(dbapi_connection: Any, _connection_record: Any) -> None:
    # Take transaction control away from the sqlite3 driver; "begin" below emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


#: Key in a connection's ``info`` while it holds its process's writer turn for the database file.
_TURN = "survey_write_turn"
_turns: dict[str, threading.Lock] = {}
_turns_guard = threading.Lock()


def _writer_turn(conn: Connection) -> threading.Lock | None:
    """The lock this process's writers of the connection's database file take turns on (none in memory)."""
    path = conn.engine.url.database
    if not path or path == ":memory:":
        return None
    with _turns_guard:
        return _turns.setdefault(path, threading.Lock())


def _release_turn(info: dict[Any, Any]) -> None:
    turn = info.pop(_TURN, None)
    if turn is not None:
        turn.release()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")).upper()
    if mode not in _BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN} must be one of {sorted(_BEGIN_MODES)}, not {mode!r}")
    # Writers of one process queue here, woken in turn, instead of all polling SQLite's lock (its busy handler
    # sleeps longer and longer, so a writer that has waited long keeps losing the lock to newcomers). Only
    # one writer per process then competes with other processes. After the busy timeout a writer goes on
    # without its turn and SQLite's own wait decides.
    turn = _writer_turn(conn) if mode != "DEFERRED" else None
    if turn is not None and turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
        conn.info[_TURN] = turn
    try:
        conn.exec_driver_sql(f"BEGIN {mode}")
    except BaseException:
        _release_turn(conn.info)
        raise


def _on_transaction_end(conn: Connection) -> None:
    _release_turn(conn.info)


def _on_pool_return(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
    _release_turn(record.info)  # a connection returned or dropped without a COMMIT or ROLLBACK event


def configure_engine(engine: Engine) -> None:
    """Install the SQLite connect/begin hooks on ``engine`` (idempotent; nothing to do for PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _on_sqlite_connect):
        event.listen(engine, "connect", _on_sqlite_connect)
    if not event.contains(engine, "begin", _on_sqlite_begin):
        event.listen(engine, "begin", _on_sqlite_begin)
        for name in ("commit", "rollback"):
            event.listen(engine, name, _on_transaction_end)
        for name in ("checkin", "invalidate"):
            event.listen(engine, name, _on_pool_return)


@contextmanager
def deferred_transaction(session: DbSession) -> Iterator[Session]:
    """Run read-only work in a transaction started with a deferred BEGIN; it is rolled back at the end."""
    actual = session() if isinstance(session, scoped_session) else session
    if actual.in_transaction():
        raise RuntimeError("deferred_transaction() must open the transaction: commit or roll back first")
    try:
        actual.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
        yield actual
    finally:
        actual.rollback()


def describe_database_url(url: str) -> str:
    """Return the URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def database_error_reason(exc: BaseException) -> str:
    """Return the driver's first line of an error (e.g. 'Connection refused'), on one line."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split()) or type(orig).__name__
    return text[:300]
