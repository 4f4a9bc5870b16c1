"""Submitting complete 50-item sessions through the JSON API under gunicorn, against the floor and the peer.

The app runs as in production: `deploy/gunicorn.conf.py` (2 workers, 2 threads each), `SURVEY_ENV=production`,
JSON request logs. Each client session was handed over in client mode beforehand (`bench/submit_world.py`);
a response is one `POST /api/v1/sessions/<id>/submit` carrying all 50 answers and the tablet's idempotency
key, as the tablet sends it when its answers were kept on the device: the answers are validated, stored,
scored, the session closed and the submit audited. The requests come from `bench/loadgen.py`, in a process of
its own, over 8 or 32 keep-alive connections (one per concurrent client). Each run's sessions are read back:
lost (acknowledged but not stored exactly as sent) and duplicated (any second submission or answer row).

Baselines, measured in the same run, right after the SQLite runs they are compared with (the speed of a shared
machine drifts over minutes):
- the floor: `bench/floor_app.py`, bare Flask + sqlite3 storing the same 50 answers from the same requests,
  under the same gunicorn settings and the same load generator;
- the peer: django-survey-and-report 1.5.0, set up and driven by the peer's own `setup.sh` and `bench.py`
  (`PEER_DIR`, default `../shared/peers/django_survey`; its venv and data under `bench/.cache/peer`), with
  2 gunicorn workers and 8 client threads. Its client fetches the form page and posts it on a new
  connection, as a browser filling the peer's form does. When the peer cannot be set up, its figure has no
  value and says why.

Targets: at least 0.5x the floor's responses/s (and at most twice its p95), at least 20x the peer's.
PostgreSQL runs on a database of its own (`survey_bench_submit`, created and dropped) on the server of
`BENCH_POSTGRES_URL`. `BENCH_PORT_BASE` picks the ports (base+1 to base+4); otherwise free ones are used.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.demo_db import scratch_postgres_database
from bench.figures import figure, percentile
from bench.loadgen import run_separately
from bench.servers import PRODUCTION_THREADS, Gunicorn, pick_port
from bench.submit_world import HandedOver, app_environment, prepare, stored_check

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
PEER_DIR = Path(os.environ.get("PEER_DIR", ROOT.parent / "shared" / "peers" / "django_survey")).resolve()
PEER_ROOT = CACHE / "peer"
POSTGRES_DATABASE = "survey_bench_submit"
FLOOR_TARGET = 0.5
PEER_TARGET = 20.0
WARM_UP = 24


def _port(offset: int) -> int:
    return pick_port(offset, "BENCH_PORT_BASE")


@dataclass
class Run:
    """One load run: its throughput, latencies, CPU and the stored-check."""

    label: str
    concurrency: int
    sent: int
    ok: int
    wall_s: float
    latencies_ms: list[float]
    server_cpu_s: float
    client_cpu_s: float
    statuses: dict[str, int]
    check: dict[str, int]

    @property
    def rps(self) -> float:
        """Acknowledged responses per second."""
        return self.ok / self.wall_s

    def summary(self) -> str:
        """One line for the figure notes and the progress output."""
        return (
            f"{self.label} c{self.concurrency}: {self.ok}/{self.sent} in {self.wall_s:.1f} s, "
            f"{self.rps:.0f}/s, p50 {percentile(self.latencies_ms, 0.5):.0f} ms, "
            f"p95 {percentile(self.latencies_ms, 0.95):.0f} ms, "
            f"server CPU {1000 * self.server_cpu_s / max(self.ok, 1):.1f} ms/response, "
            f"client CPU {self.client_cpu_s:.1f} s"
        )


def _submits(sessions: list[HandedOver]) -> list[dict[str, Any]]:
    return [
        {
            "method": "POST",
            "path": f"/api/v1/sessions/{handed.public_id}/submit",
            "headers": handed.headers(),
            "body": handed.submit_body(f"bench-{handed.public_id}"),
        }
        for handed in sessions
    ]


def _measure(
    label: str, server: Gunicorn, sessions: list[HandedOver], concurrency: int, folder: Path
) -> tuple[Run, list[tuple[HandedOver, bool]]]:
    before = server.cpu_seconds()
    outcome = run_separately(
        {"port": server.port, "concurrency": concurrency, "requests": _submits(sessions)}, folder
    )
    server_cpu = server.cpu_seconds() - before
    results = outcome["results"]
    statuses: dict[str, int] = {}
    for status, _seconds, _replayed, _error in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    acknowledged = [status == 200 for status, *_ in results]
    run = Run(
        label, concurrency, len(results), sum(acknowledged), outcome["wall_s"],
        [seconds * 1000 for (status, seconds, *_ ) in results if status == 200],
        server_cpu, outcome["client_cpu_s"], statuses, {},
    )  # fmt: skip
    print(f"  {run.summary()} {statuses}", file=sys.stderr, flush=True)
    return run, list(zip(sessions, acknowledged, strict=True))


def _app_runs(
    label: str, url: str, folder: Path, port: int, per_run: int, levels: tuple[int, ...]
) -> tuple[list[Run], list[HandedOver]]:
    """Hand sessions over, start the app under gunicorn, warm it up, run each concurrency level."""
    secret = secrets.token_hex(32)
    sessions = prepare(url, folder, WARM_UP + per_run * len(levels), secret=secret)
    environment = app_environment(url, folder, secret)
    runs = []
    with Gunicorn("wsgi:app", port=port, env=environment, log=folder / "gunicorn.log") as server:
        _measure(f"{label} warm-up", server, sessions[:WARM_UP], 4, folder)
        for index, level in enumerate(levels):
            chunk = sessions[WARM_UP + index * per_run : WARM_UP + (index + 1) * per_run]
            run, sent = _measure(label, server, chunk, level, folder)
            run.check = stored_check(url, sent).to_json()
            runs.append(run)
    return runs, sessions


def _floor_runs(sessions: list[HandedOver], folder: Path, port: int, levels: tuple[int, ...]) -> list[Run]:
    """The bare Flask + sqlite3 app, the same requests, the same gunicorn settings and load generator."""
    from bench.floor_app import connect

    runs = []
    for level in levels:
        database = folder / f"floor-c{level}.sqlite3"
        connect(str(database)).close()
        environment = {"FLOOR_DB": str(database)}
        log = folder / "floor-gunicorn.log"
        with Gunicorn("bench.floor_app:app", port=port, env=environment, log=log) as server:
            run, sent = _measure("floor", server, sessions, level, folder)
        with connect(str(database)) as connection:
            stored = {row[0]: row[1] for row in connection.execute(
                "SELECT s.session, count(a.id) FROM submission s JOIN answer a ON a.submission_id = s.id"
                " GROUP BY s.session"
            )}  # fmt: skip
        lost = sum(1 for handed, ok in sent if ok and stored.get(handed.public_id) != len(handed.answers))
        run.check = {"acknowledged": run.ok, "lost": lost, "duplicated": 0, "unacknowledged_stored": 0}
        runs.append(run)
    return runs


def _peer(port: int, responses: int, time_limit: float) -> tuple[float | None, str]:
    """The peer's responses/s from its own bench.py (set up with its setup.sh once), or why there is none."""
    python = PEER_ROOT / "venv" / "bin" / "python"
    environment = {**os.environ, "PEER_ROOT": str(PEER_ROOT)}
    try:
        if not (python.exists() and (PEER_ROOT / "data" / "peer.sqlite3").exists()):
            print("  setting up the peer (once)", file=sys.stderr, flush=True)
            subprocess.run(
                ["bash", str(PEER_DIR / "setup.sh")], cwd=PEER_DIR, env=environment, check=True,
                stdout=subprocess.DEVNULL, timeout=900,
            )  # fmt: skip
        command = [
            str(python), "bench.py", "peer", "--n", str(responses), "--threads", "8", "--workers", "2",
            "--port", str(port), "--time-limit", str(time_limit),
        ]  # fmt: skip
        output = subprocess.run(
            command, cwd=PEER_DIR, env=environment, check=True, capture_output=True, text=True,
            timeout=time_limit + 120,
        ).stdout  # fmt: skip
        result = json.loads(output.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        return None, f"the peer could not be set up or run here ({type(error).__name__}: {error})"[:400]
    submit, check = result["submit"], result["submit_check"]
    note = (
        f"peer: {submit['n_ok']} responses in {submit['wall_s']} s, POST p95 {submit['post_p95_ms']} ms, "
        f"GET+POST p95 {submit['get_plus_post_p95_ms']} ms, "
        f"server CPU {submit['server_cpu_ms_per_response']} ms/response; "
        f"lost {check['lost']}, duplicated {check['duplicated']}"
    )
    print(f"  {note}", file=sys.stderr, flush=True)
    return float(submit["responses_per_s"]), note


def _postgres_runs(folder: Path, port: int, per_run: int, levels: tuple[int, ...]) -> list[Run]:
    with scratch_postgres_database(POSTGRES_DATABASE) as url:
        return _app_runs("postgres", url, folder, port, per_run, levels)[0]


def run(quick: bool) -> dict[str, dict[str, Any]]:
    """The submission figures."""
    per_run = 150 if quick else 600
    levels = (8, 32)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-submit-") as name:
        folder = Path(name)
        (folder / "sqlite").mkdir()
        (folder / "postgres").mkdir()
        sqlite, handed = _app_runs(
            "sqlite", f"sqlite:///{folder / 'sqlite' / 'survey.sqlite3'}", folder / "sqlite", _port(1),
            per_run, levels,
        )  # fmt: skip
        floor = _floor_runs(handed[WARM_UP : WARM_UP + per_run], folder, _port(2), levels)  # same bytes
        # The peer right after the runs it is compared with: the machine's speed drifts over minutes.
        peer_rps, peer_note = _peer(_port(4), 30 if quick else 150, 30 if quick else 40)
        postgres = _postgres_runs(folder / "postgres", _port(3), per_run, levels)
    print(f"  submit benchmark: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return figures(sqlite, postgres, floor, peer_rps, peer_note)


def figures(
    sqlite: list[Run], postgres: list[Run], floor: list[Run], peer_rps: float | None, peer_note: str
) -> dict[str, dict[str, Any]]:
    """The figures of the runs (c8 first, then c32, in each list)."""
    app8, app32 = sqlite
    pg8, pg32 = postgres
    floor8, floor32 = floor
    all_runs = [*sqlite, *postgres]
    sent = sum(run.check["acknowledged"] for run in all_runs)
    lost = sum(run.check["lost"] for run in all_runs)
    duplicated = sum(run.check["duplicated"] for run in all_runs)
    shape = f"50-item sessions, one submit each, 2 gunicorn workers x {PRODUCTION_THREADS} threads"

    def p95(run: Run) -> float:
        return percentile(run.latencies_ms, 0.95)

    ratio_floor = app8.rps / floor8.rps
    return {
        "submit_rps_sqlite_c8": figure(
            app8.rps, "responses/s", baseline=floor8.rps, target=FLOOR_TARGET, target_on="ratio",
            note=f"{app8.summary()}; baseline: {floor8.summary()}; {shape}",
        ),
        "submit_ratio_vs_floor_sqlite_c8": figure(
            ratio_floor, "x floor", baseline=1.0, target=FLOOR_TARGET,
            note=f"{app8.rps:.0f} vs {floor8.rps:.0f} responses/s (floor: bare Flask + sqlite3, same load)",
        ),
        "submit_ratio_vs_peer_c8": figure(
            app8.rps / peer_rps if peer_rps else None, "x peer", baseline=1.0 if peer_rps else None,
            target=PEER_TARGET,
            note=(f"{app8.rps:.0f} vs {peer_rps:.1f} responses/s; {peer_note}" if peer_rps else peer_note),
        ),
        "submit_p95_ms_sqlite_c32": figure(
            p95(app32), "ms", baseline=p95(floor32), target=1 / FLOOR_TARGET, target_on="ratio",
            higher_is_better=False, note=f"{app32.summary()}; baseline: {floor32.summary()}",
        ),
        "submit_rps_postgres_c32": figure(
            pg32.rps, "responses/s", baseline=floor32.rps, target=FLOOR_TARGET, target_on="ratio",
            note=f"{pg32.summary()}; {pg8.summary()}; baseline: the SQLite floor at c32",
        ),
        "submit_p95_ms_postgres_c32": figure(
            p95(pg32), "ms", baseline=p95(floor32), target=1 / FLOOR_TARGET, target_on="ratio",
            higher_is_better=False, note=f"{pg32.summary()}; baseline: the SQLite floor's p95 at c32",
        ),
        "submit_lost": figure(
            lost, "sessions", baseline=sent, target=0, higher_is_better=False,
            note=f"acknowledged sessions not stored exactly as sent, of {sent} (SQLite, PostgreSQL; c8, c32)",
        ),
        "submit_duplicated": figure(
            duplicated, "rows", baseline=sent, target=0, higher_is_better=False,
            note=f"submission or answer rows beyond one per session and item, over {sent} sessions; "
            f"statuses: {', '.join(f'{run.label} c{run.concurrency} {run.statuses}' for run in all_runs)}",
        ),
    }  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
