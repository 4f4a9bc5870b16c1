"""The PostgreSQL connection cut mid-run: 503 with Retry-After, no traceback, recovery without a restart.

The app (2 workers, 2 threads) reaches its database only through `TcpProxy`. Eight tablets autosave and
submit sessions, retrying every second after a failure as the tablet's script does. After `before` seconds
the proxy closes every database connection and refuses new ones for `cut` seconds, then forwards again; the
tablets go on for `after` seconds. Every answer during the cut must be a 503 with Retry-After and a JSON
message (no 500, no traceback, in the answers or the app's log), the app must answer 200 again soon after
the database returns with the same worker processes, and every acknowledged session must be stored once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.demo_db import postgres_available
from bench.figures import percentile
from bench.reliability.client import Reply, Tablet
from bench.reliability.common import Outcome, database, free_port, say, serve
from bench.reliability.tcp_proxy import TcpProxy
from bench.submit_world import HandedOver, stored_check

TABLETS = 8
RECOVERY_LIMIT_S = 15


def _tablets(
    port: int, sessions: list[HandedOver], stop: threading.Event
) -> tuple[list[Reply], dict[str, bool], list[threading.Thread]]:
    replies: list[Reply] = []
    acknowledged: dict[str, bool] = {}
    pool = iter(sessions)
    lock = threading.Lock()

    def tablet() -> None:
        device = Tablet(port, replies.append)
        while not stop.is_set():
            with lock:
                handed = next(pool, None)
            if handed is None:
                return
            acknowledged[handed.public_id] = device.fill_and_submit(
                handed, key=f"cut-{handed.public_id}", retry_wait=1.0, give_up_at=time.monotonic() + 120
            )
            time.sleep(0.3)
        device.close()

    threads = [threading.Thread(target=tablet) for _ in range(TABLETS)]
    for thread in threads:
        thread.start()
    return replies, acknowledged, threads


def run(folder: Path, *, quick: bool) -> Outcome:
    """Cut the database connection for 30 s (10 s quick) under load and check what the tablets saw."""
    before, cut, after = (5, 10, 10) if quick else (20, 30, 30)
    outcome = Outcome(f"database connection cut for {cut} s (PostgreSQL)")
    if not postgres_available():
        outcome.check("a PostgreSQL server to cut the connection to (BENCH_POSTGRES_URL)", False)
        return outcome
    with database("postgres", folder, "cut") as url:
        target = make_url(url)
        proxy_port = free_port(11)
        proxied = target.set(host="127.0.0.1", port=proxy_port).render_as_string(hide_password=False)
        proxy = TcpProxy(proxy_port, target.host or "127.0.0.1", target.port or 5432)
        with (
            proxy,
            serve(url, folder, 300 if quick else 1200, free_port(12), database_url_for_app=proxied) as served,
        ):
            workers = sorted(served.server.workers())
            stop = threading.Event()
            replies, acknowledged, threads = _tablets(served.server.port, served.sessions, stop)
            time.sleep(before)
            say(f"    cutting the database connection for {cut} s")
            proxy.cut()
            cut_at = time.time()
            time.sleep(cut)
            proxy.restore()
            restored_at = time.time()
            say("    the database is reachable again")
            time.sleep(after)
            stop.set()
            for thread in threads:
                thread.join(timeout=150)
            same_workers = sorted(served.server.workers()) == workers
        log = (folder / "gunicorn.log").read_text(errors="replace")
        sent = [
            (handed, acknowledged[handed.public_id])
            for handed in served.sessions
            if handed.public_id in acknowledged
        ]
        check = stored_check(url, sent)
    _report(outcome, replies, cut_at, restored_at, log, same_workers, check.to_json())
    return outcome


def _report(
    outcome: Outcome, replies: list[Reply], cut_at: float, restored_at: float, log: str, same_workers: bool,
    check: dict[str, int],
) -> None:  # fmt: skip
    during = [reply for reply in replies if cut_at <= reply.at <= restored_at]
    failed = [reply for reply in replies if reply.status != 200]
    after_ok = [reply.at for reply in replies if reply.at > restored_at and reply.status == 200]
    recovery = (min(after_ok) - restored_at) if after_ok else float("inf")
    statuses: dict[int, int] = {}
    for reply in replies:
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
    outcome.figures.update(
        {
            "requests": len(replies),
            "statuses": statuses,
            "answers_during_cut": len(during),
            "503_during_cut": sum(1 for reply in during if reply.status == 503),
            "recovery_s": round(recovery, 2),
            "p95_ms": round(percentile([reply.seconds * 1000 for reply in replies], 0.95), 1),
            **check,
        }
    )
    clean = all(
        reply.status == 503 and reply.retry_after and (reply.json() or {}).get("message") for reply in failed
    )
    outcome.check(
        f"the cut was felt: {outcome.figures['503_during_cut']} answers were 503 during it",
        bool(during) and outcome.figures["503_during_cut"] > 0,
    )
    outcome.check(f"every failed answer ({len(failed)}) is a 503 with Retry-After and a JSON message", clean)
    tracebacks = [text for text in (log, *(reply.body for reply in replies)) if "Traceback" in text]
    if tracebacks:  # the first one goes with the figures, to tell what failed
        first = tracebacks[0]
        outcome.figures["first_traceback"] = first[first.index("Traceback") :][:4000]
    outcome.check("no traceback in any answer or in the app's log", not tracebacks)
    outcome.check(
        f"200 again {recovery:.1f} s after the database returned (limit {RECOVERY_LIMIT_S} s)",
        recovery <= RECOVERY_LIMIT_S,
    )
    outcome.check("recovered without a restart: the same worker processes", same_workers)
    outcome.check(
        f"lost {check['lost']}, duplicated {check['duplicated']} (of {check['acknowledged']} acknowledged)",
        check["lost"] == 0 and check["duplicated"] == 0,
    )
