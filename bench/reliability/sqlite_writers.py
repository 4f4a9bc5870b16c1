"""SQLite with 32 concurrent writers: no "database is locked" reaches a user; PRAGMA integrity_check ok.

The app runs on SQLite with 2 workers of 16 threads, so 32 requests write at once, from 32 keep-alive
connections. Each connection is a tablet: it autosaves a session's answers in two halves, submits them,
then takes the next session. Every answer must be 200, none may mention a
lock (in the answer or in the app's log), every session must be stored once, and SQLite's own
integrity check must pass afterwards.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bench.figures import percentile
from bench.loadgen import run_separately
from bench.reliability.common import Outcome, database, free_port, serve
from bench.submit_world import HandedOver, stored_check

WRITERS = 32


def _plan(sessions: list[HandedOver]) -> list[list[dict[str, Any]]]:
    """Per session, on one connection: autosave each half of the answers, then submit them all."""
    items = list(sessions[0].answers)
    halves = (items[: len(items) // 2], items[len(items) // 2 :])
    plan = []
    for handed in sessions:
        base = f"/api/v1/sessions/{handed.public_id}"
        sequence = [
            {"method": "PUT", "path": f"{base}/answers", "headers": handed.headers(),
             "body": json.dumps({"answers": handed.entries(half)})}
            for half in halves
        ]  # fmt: skip
        body = handed.submit_body(f"writers-{handed.public_id}")
        sequence.append(
            {"method": "POST", "path": f"{base}/submit", "headers": handed.headers(), "body": body}
        )
        plan.append(sequence)
    return plan


def run(folder: Path, *, quick: bool) -> Outcome:
    """32 writers on SQLite."""
    count = WRITERS * (4 if quick else 20)
    outcome = Outcome(f"SQLite with {WRITERS} concurrent writers ({count} sessions, {3 * count} writes)")
    threads = WRITERS // 2
    with (
        database("sqlite", folder, "writers") as url,
        serve(url, folder, count, free_port(31), threads=threads) as served,
    ):
        result = run_separately(
            {
                "port": served.server.port,
                "concurrency": WRITERS,
                "requests": _plan(served.sessions),
                "keep_bodies": True,
            },
            folder,
        )
        check = stored_check(url, [(handed, True) for handed in served.sessions])
    statuses: dict[int, int] = {}
    for status, *_ in result["results"]:
        statuses[status] = statuses.get(status, 0) + 1
    bodies = result.get("bodies", [])
    locked_answers = sum(1 for body in bodies if "locked" in body.lower())
    log = (folder / "gunicorn.log").read_text(errors="replace")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    outcome.figures.update(
        {
            "requests": len(result["results"]),
            "statuses": statuses,
            "p95_ms": round(percentile([seconds * 1000 for _, seconds, *_ in result["results"]], 0.95), 1),
            "max_ms": round(max(seconds for _, seconds, *_ in result["results"]) * 1000, 1),
            "integrity_check": integrity,
            **check.to_json(),
        }
    )
    outcome.check(f"every write was answered 200 ({statuses})", set(statuses) == {200})
    outcome.check(
        f"no answer mentions a lock ({locked_answers}), nor does the app's log",
        locked_answers == 0 and "database is locked" not in log,
    )
    outcome.check(
        f"lost {check.lost}, duplicated {check.duplicated}", check.lost == 0 and check.duplicated == 0
    )
    outcome.check(f"PRAGMA integrity_check: {integrity}", integrity == "ok")
    return outcome
