"""Rate-limit counters shared by every worker process without Redis: a small SQLite file of its own.

A ``limits`` storage (the library behind Flask-Limiter) registered under the scheme
``survey+sqlite``: ``survey+sqlite:////absolute/path/rate-limits.sqlite3``. Each increment runs in
a ``BEGIN IMMEDIATE`` transaction, so gunicorn workers on one host count together. The file is
separate from the application database, so counting never waits for (or holds) its write lock.
Production on several hosts uses Redis instead (``RATELIMIT_STORAGE_URI=redis://host:6379``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import Storage

__all__ = ["SCHEME", "SQLiteFileStorage", "sqlite_storage_uri"]

SCHEME = "survey+sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters "
    "(key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL)"
)


def sqlite_storage_uri(path: Path) -> str:
    """The storage URI for a counter file at ``path``."""
    return f"{SCHEME}:///{path.resolve()}"


#: How long a new connection keeps trying to switch the file to WAL while another process holds a lock.
WAL_SWITCH_SECONDS = 5.0


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode, retrying while another process has it locked.

    Switching needs an exclusive lock, and SQLite refuses it at once (without its busy wait) when another
    connection holds a lock, as a second worker starting at the same moment does.
    """
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class SQLiteFileStorage(Storage):
    """Fixed-window counters in a SQLite file, safe across processes and threads."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (the base class declares it as a list)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if not uri or not uri.startswith(f"{SCHEME}:///"):
            raise ValueError(f"expected {SCHEME}:////absolute/path, not {uri!r}")
        self.path = Path(uri.removeprefix(f"{SCHEME}://"))
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        """What a failing storage raises."""
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            _switch_to_wal(connection)
            connection.execute("PRAGMA busy_timeout=5000")
            connection.execute(_SCHEMA)
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter (a new window of ``expiry`` seconds when none is live)."""
        connection = self._connection()
        now = time.time()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("DELETE FROM counters WHERE expires_at <= ? AND key != ?", (now, key))
            row = connection.execute(
                "SELECT value, expires_at FROM counters WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[1] <= now:
                value, expires_at = amount, now + expiry
            else:
                value, expires_at = row[0] + amount, row[1]
            connection.execute(
                "INSERT OR REPLACE INTO counters (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, expires_at),
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return int(value)

    def get(self, key: str) -> int:
        """The counter's value in its live window (0 when none)."""
        row = (
            self._connection()
            .execute("SELECT value FROM counters WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When the counter's window ends (epoch seconds)."""
        row = self._connection().execute("SELECT expires_at FROM counters WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        """True when the file can be read."""
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; return how many there were."""
        cursor = self._connection().execute("DELETE FROM counters")
        return cursor.rowcount

    def clear(self, key: str) -> None:
        """Forget one counter."""
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
