"""Database plumbing: SQLite pragmas, BEGIN IMMEDIATE, deferred read transactions, error wording.

SQLite write transactions use ``BEGIN IMMEDIATE`` by default (the documented SQLAlchemy pysqlite
recipe: the driver's own transaction handling is switched off on connect, and SQLAlchemy's "begin"
event emits BEGIN itself). A deferred read-then-write transaction would fail with SQLITE_BUSY under
concurrency, so every transaction takes the write lock up front, unless it only reads: a request may read
first in a deferred transaction (:func:`begin_read`, :func:`end_read`). Writers take turns before they ask for
it (`WriterTurn`: a thread lock, then a lock file shared by the processes, released at COMMIT or ROLLBACK),
so they are served in turn rather than all polling SQLite's lock. Long read-only work (exports,
reports, health checks) should not hold the write lock; it uses :func:`deferred_transaction`::

    with deferred_transaction(db.session) as session:
        rows = session.execute(select(...)).all()

or, on a Core connection, the execution option directly::

    conn = engine.connect().execution_options(sqlite_begin="DEFERRED")

On PostgreSQL both are no-ops: its MVCC needs no such care. Work that must read one consistent state across
many queries (an export) asks for ``deferred_transaction(session, snapshot=True)``: on PostgreSQL its
transaction is REPEATABLE READ READ ONLY (the ``read_snapshot`` execution option; a "begin" hook sets it
as the transaction's first statement), while SQLite's deferred transaction already keeps the snapshot of
its first read.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeAlias

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, scoped_session

from config import SQLITE_BUSY_TIMEOUT_SECONDS

#: What services take as their session: a plain Session, or Flask-SQLAlchemy's ``db.session`` proxy.
DbSession: TypeAlias = Session | scoped_session[Any]

#: Execution option naming the BEGIN mode on SQLite: "IMMEDIATE" (default), "DEFERRED" or "EXCLUSIVE".
SQLITE_BEGIN = "sqlite_begin"
#: Execution option: on PostgreSQL, the transaction reads one snapshot (REPEATABLE READ) and writes nothing.
READ_SNAPSHOT = "read_snapshot"
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


#: Key in a connection's ``info`` while it holds the writer turn for its database file.
_TURN = "survey_write_turn"


class _LockFileWaiter:
    """A thread that waits in a blocking ``flock`` of the lock file, so a waiting writer costs no CPU.

    It holds a descriptor of its own (locks on two descriptors of one file exclude each other, even in one
    process). ``wait`` asks it for the lock and waits up to a timeout; a grant that comes after the asker
    gave up is released again at once.
    """

    def __init__(self, path: str) -> None:
        self.descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._guard = threading.Lock()
        self._asked = threading.Event()
        self._granted = threading.Event()
        self._wanted = False
        self._pending = False
        threading.Thread(target=self._run, name="sqlite-writer-turn", daemon=True).start()

    def _run(self) -> None:
        while True:
            self._asked.wait()
            self._asked.clear()
            with suppress(OSError):  # a file that cannot be locked: SQLite's own wait decides
                fcntl.flock(self.descriptor, fcntl.LOCK_EX)
            with self._guard:
                self._pending = False
                if self._wanted:
                    self._granted.set()
                else:
                    with suppress(OSError):
                        fcntl.flock(self.descriptor, fcntl.LOCK_UN)

    def wait(self, timeout: float) -> bool:
        """True when this process holds the lock on ``descriptor`` within ``timeout`` seconds."""
        with self._guard:
            self._wanted = True
            self._granted.clear()
            if not self._pending:
                self._pending = True
                self._asked.set()
        granted = self._granted.wait(max(timeout, 0.0))
        with self._guard:
            self._wanted = False
            return granted or self._granted.is_set()


class WriterTurn:
    """The turn at writing one SQLite file: first among this process's threads, then among its processes.

    SQLite's own wait for its write lock polls with growing sleeps, so a waiting worker keeps losing the
    lock to the other worker's next writer and sits idle. Here the threads of a process queue on a thread
    lock, and the first of them takes an exclusive ``flock`` of ``<database>-writer.lock``. When the other
    process holds it, a waiter thread blocks in ``flock`` until the kernel hands it over (no polling). The
    kernel also releases the lock if a worker dies holding it. When the file cannot be opened (a read-only
    folder, a full disk) writers fall back to SQLite's wait alone.
    """

    def __init__(self, database: str) -> None:
        self._threads = threading.Lock()
        self._path = f"{database}-writer.lock"
        self._file: int | None = None
        self._waiter: _LockFileWaiter | None = None
        self._held: int | None = None
        self._pid = 0

    def _open(self) -> bool:
        if self._pid != os.getpid():  # a forked child must not share its parent's open files (and locks)
            self._file = self._waiter = None
            self._pid = os.getpid()
        if self._file is None:
            try:
                self._file = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._waiter = _LockFileWaiter(self._path)
            except OSError:
                self._file = None
                return False
        return True

    def acquire(self, timeout: float) -> bool:
        """Wait for the turn; False (and no turn) when it did not come within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if not self._open():
            return True  # SQLite's own wait decides between the processes
        assert self._file is not None and self._waiter is not None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._held = self._file
        except BlockingIOError:
            if not self._waiter.wait(deadline - time.monotonic()):
                self._threads.release()
                return False
            self._held = self._waiter.descriptor
        except OSError:
            pass  # a file that cannot be locked: SQLite's own wait decides
        return True

    def release(self) -> None:
        """Let the next writer, of this process or another, have the turn."""
        held, self._held = self._held, None
        if held is not None and self._pid == os.getpid():
            with suppress(OSError):
                fcntl.flock(held, fcntl.LOCK_UN)
        self._threads.release()


_turns: dict[str, WriterTurn] = {}
_turns_guard = threading.Lock()


def _writer_turn(conn: Connection) -> WriterTurn | None:
    """The writer turn of the connection's database file (none for a database in memory)."""
    path = conn.engine.url.database
    if not path or path == ":memory:":
        return None
    with _turns_guard:
        turn = _turns.get(path)
        if turn is None:
            turn = _turns[path] = WriterTurn(path)
        return turn


def _release_turn(info: dict[Any, Any]) -> None:
    turn = info.pop(_TURN, None)
    if turn is not None:
        turn.release()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")).upper()
    if mode not in _BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN} must be one of {sorted(_BEGIN_MODES)}, not {mode!r}")
    # Writers queue for their turn (see WriterTurn) instead of all polling SQLite's lock. After the busy
    # timeout a writer goes on without its turn and SQLite's own wait decides.
    turn = _writer_turn(conn) if mode != "DEFERRED" else None
    if turn is not None and turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
        conn.info[_TURN] = turn
    try:
        conn.exec_driver_sql(f"BEGIN {mode}")
    except BaseException:
        _release_turn(conn.info)
        raise


def _passing_the_turn(finish: Callable[[Any], None]) -> Callable[[Any], None]:
    """The dialect's COMMIT or ROLLBACK, then the writer turn passes on.

    The ``commit`` and ``rollback`` events come before the statement, so a turn passed there let the next
    writer begin while this one still held SQLite's lock: it then waited in SQLite's polling busy handler
    (or, with no busy timeout, failed at once), which the turn is there to avoid.
    """

    def finish_then_pass(dbapi_connection: Any) -> None:
        try:
            finish(dbapi_connection)
        finally:
            try:
                info = dbapi_connection.info
            except (AttributeError, NotImplementedError):  # a bare DBAPI connection: no turn is kept on it
                info = None
            if info is not None:
                _release_turn(info)

    return finish_then_pass


def _on_pool_return(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
    _release_turn(record.info)  # a connection returned or dropped without a COMMIT or ROLLBACK event


def _on_postgresql_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_SNAPSHOT):
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _without_server_detail(context: ExceptionContext) -> None:
    """Keep only PostgreSQL's primary message in an error's text: its DETAIL may quote the row's values.

    A unique violation says ``Key (name)=(...) already exists``, which ``hide_parameters`` does not hide;
    the detail stays readable in the driver error's ``diag`` for code that needs it.
    """
    original = context.original_exception
    diag = getattr(original, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary or not getattr(diag, "message_detail", None):
        return
    full = str(original)
    original.args = (primary,)
    wrapped = context.sqlalchemy_exception  # its message already quotes the driver's
    if wrapped is not None and wrapped.args and isinstance(wrapped.args[0], str):
        wrapped.args = (wrapped.args[0].replace(full, primary), *wrapped.args[1:])


def configure_engine(engine: Engine) -> None:
    """Install the SQLite connect/begin hooks, or PostgreSQL's snapshot and error hooks, on ``engine``."""
    if engine.dialect.name == "postgresql":
        if not event.contains(engine, "begin", _on_postgresql_begin):
            event.listen(engine, "begin", _on_postgresql_begin)
        if not event.contains(engine, "handle_error", _without_server_detail):
            event.listen(engine, "handle_error", _without_server_detail)
        return
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _on_sqlite_connect):
        event.listen(engine, "connect", _on_sqlite_connect)
    if not event.contains(engine, "begin", _on_sqlite_begin):
        event.listen(engine, "begin", _on_sqlite_begin)
        engine.dialect.do_commit = _passing_the_turn(engine.dialect.do_commit)  # type: ignore[method-assign,assignment]
        engine.dialect.do_rollback = _passing_the_turn(engine.dialect.do_rollback)  # type: ignore[method-assign,assignment]
        for name in ("checkin", "invalidate"):
            event.listen(engine, name, _on_pool_return)


@contextmanager
def deferred_transaction(session: DbSession, *, snapshot: bool = False) -> Iterator[Session]:
    """Run read-only work in a transaction started with a deferred BEGIN; it is rolled back at the end.

    With ``snapshot`` every query sees the same committed state, as an export needs: SQLite's deferred
    transaction does from its first read on; PostgreSQL's is made REPEATABLE READ READ ONLY.
    """
    actual = session() if isinstance(session, scoped_session) else session
    if actual.in_transaction():
        raise RuntimeError("deferred_transaction() must open the transaction: commit or roll back first")
    try:
        actual.connection(execution_options={SQLITE_BEGIN: "DEFERRED", READ_SNAPSHOT: snapshot})
        yield actual
    finally:
        actual.rollback()


def begin_read(session: DbSession) -> bool:
    """On SQLite with no transaction open, begin a deferred (read-only) one and return True; else False.

    A request reads what it needs first without taking SQLite's write lock, so other writers need not wait
    for that reading; it ends the read with :func:`end_read` before anything writes. PostgreSQL takes no
    lock at BEGIN, so there the request's transaction goes on as usual (False).
    """
    actual = session() if isinstance(session, scoped_session) else session
    if actual.in_transaction() or actual.get_bind().dialect.name != "sqlite":
        return False
    actual.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
    return True


def end_read(session: DbSession) -> None:
    """End the read transaction of :func:`begin_read`, keeping the values of the objects it loaded.

    Anything a later write depends on must be re-read under that write's own lock (as the submit does with
    the session's status).
    """
    actual = session() if isinstance(session, scoped_session) else session
    keep = actual.expire_on_commit
    actual.expire_on_commit = False
    try:
        actual.commit()
    finally:
        actual.expire_on_commit = keep


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
