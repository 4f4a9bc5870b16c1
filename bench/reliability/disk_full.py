"""The disk under the SQLite database fills up: a clear error, nothing half-written, integrity ok after.

The database lives on a small tmpfs mounted for the run (this needs root) and removed afterwards; the
app's instance folder and logs stay on the normal disk. Once the sessions are handed over, a filler file
takes all but a little of the free space, and four tablets autosave and submit until writes are refused.
Then the filler goes, and the same app (no restart) must take every session, each one retried with the
same idempotency key. Every refused write must be a 503 with Retry-After whose message says storage ran out,
the app's log must say so at ERROR, no session may be half-stored, and SQLite's integrity check must pass.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.reliability.client import Reply, Tablet
from bench.reliability.common import Outcome, free_port, say, serve
from bench.submit_world import HandedOver, stored_check
from survey_app.errors import FULL_MESSAGE

SIZE_MB = 24
LEFT_FREE_BYTES = 384 * 1024
TABLETS = 4


@contextmanager
def small_filesystem(where: Path) -> Iterator[Path]:
    """A tmpfs of SIZE_MB mounted at `where` for the length of the block (unmounted even after a failure)."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0700", "tmpfs", str(where)], check=True
    )
    try:
        yield where
    finally:
        for _ in range(10):  # the app's last files may still be closing: "target is busy" is retried quietly
            quiet = subprocess.run(["umount", str(where)], check=False, stderr=subprocess.DEVNULL)
            if quiet.returncode == 0:
                break
            time.sleep(0.5)
        else:
            subprocess.run(["umount", "--lazy", str(where)], check=False)


def _fill(mount: Path) -> Path:
    """Take all but LEFT_FREE_BYTES of the filesystem's free space with one file."""
    filler = mount / "filler"
    stats = os.statvfs(mount)
    room = stats.f_bavail * stats.f_frsize - LEFT_FREE_BYTES
    with filler.open("wb") as out:
        block = b"\0" * (1024 * 1024)
        while room > 0:
            out.write(block[: min(room, len(block))])
            room -= len(block)
    return filler


def _checkpoint(database: Path) -> None:
    """Move the WAL into the database file and empty it, so the next writes need new space."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _tablets(port: int, sessions: list[HandedOver], replies: list[Reply], *, retry: bool) -> dict[str, bool]:
    """The tablets take the sessions in turn; without `retry` a refused request is left (the disk is full)."""
    acknowledged: dict[str, bool] = {}
    pool = iter(sessions)
    lock = threading.Lock()

    def tablet() -> None:
        device = Tablet(port, replies.append)
        while True:
            with lock:
                handed = next(pool, None)
            if handed is None:
                break
            give_up = time.monotonic() + (120 if retry else 0)
            acknowledged[handed.public_id] = device.fill_and_submit(
                handed, key=f"disk-{handed.public_id}", retry_wait=0.5, give_up_at=give_up
            )
        device.close()

    threads = [threading.Thread(target=tablet) for _ in range(TABLETS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged


def _half_written(database: Path) -> int:
    """Sessions whose rows disagree: submitted without a submission, 50 answers and scores, or the reverse."""
    query = """
        SELECT s.status,
               (SELECT count(*) FROM submissions WHERE session_id = s.id),
               (SELECT count(*) FROM answers WHERE session_id = s.id),
               (SELECT count(*) FROM scores WHERE session_id = s.id)
        FROM assessment_sessions s"""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        rows = connection.execute(query).fetchall()
    whole = {("submitted", 1, 50), ("open", 0)}
    return sum(
        1
        for status, submissions, answers, scores in rows
        if not ((status, submissions, answers) in whole and scores > 0)
        and not (status == "open" and submissions == 0 and scores == 0)
    )


def run(folder: Path, *, quick: bool) -> Outcome:
    """Fill the disk under a running app, free it again, and check what was stored."""
    outcome = Outcome(f"disk full under the SQLite database ({SIZE_MB} MB tmpfs)")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        outcome.check("root, to mount a small filesystem for the database", False)
        return outcome
    count = 60 if quick else 200
    replies_full: list[Reply] = []
    replies_after: list[Reply] = []
    with small_filesystem(folder / "small") as mount:
        database = mount / "survey.sqlite3"
        with serve(f"sqlite:///{database}", folder, count, free_port(41)) as served:
            _checkpoint(database)
            filler = _fill(mount)
            say(f"    the disk is full but for {LEFT_FREE_BYTES // 1024} KB; {TABLETS} tablets keep going")
            half = count // 2
            first = _tablets(served.server.port, served.sessions[:half], replies_full, retry=False)
            filler.unlink()
            say("    space is back; every session not yet acknowledged is sent (again)")
            rest = [handed for handed in served.sessions if not first.get(handed.public_id)]
            later = {
                **_tablets(served.server.port, rest, replies_after, retry=True),
                **{k: v for k, v in first.items() if v},
            }
        log = (folder / "gunicorn.log").read_text(errors="replace")
        with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
            integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        half_written = _half_written(database)
        check = stored_check(
            f"sqlite:///{database}", [(h, later.get(h.public_id, False)) for h in served.sessions]
        )
    refused = [reply for reply in replies_full if reply.status != 200]
    clear = all(
        reply.status == 503 and reply.retry_after and (reply.json() or {}).get("message") == FULL_MESSAGE
        for reply in refused
    )
    outcome.figures.update(
        {
            "sessions": count,
            "acknowledged_while_full": sum(first.values()),
            "refused_while_full": len(refused),
            "statuses_while_full": sorted({reply.status for reply in replies_full}),
            "acknowledged_after": sum(later.values()),
            "half_written_sessions": half_written,
            "integrity_check": integrity,
            **check.to_json(),
        }
    )
    outcome.check(f"the disk filled: {len(refused)} writes were refused", len(refused) > 0)
    outcome.check("every refused write: 503, Retry-After, a message that storage ran out", clear)
    outcome.check(
        "the app's log names the full disk at ERROR",
        '"level": "error"' in log and "database storage is full" in log,
    )
    outcome.check(
        f"nothing half-written ({half_written} sessions disagree with their rows)", half_written == 0
    )
    outcome.check(
        f"after space returned, the same app took all {count} sessions", sum(later.values()) == count
    )
    outcome.check(f"PRAGMA integrity_check: {integrity}", integrity == "ok")
    outcome.check(
        f"lost {check.lost}, duplicated {check.duplicated}", check.lost == 0 and check.duplicated == 0
    )
    return outcome
