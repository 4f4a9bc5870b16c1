"""`make reliability`: fault and load runs on 127.0.0.1, each checking that nothing is lost or duplicated.

    python -m bench.reliability                      # every run, full length (15 to 20 minutes)
    python -m bench.reliability --quick              # every run, short (about 5 minutes)
    python -m bench.reliability --only tablets --duration 60

Runs: `tablets` (40 locust tablets, a gunicorn worker killed every 60 s), `same-key` (50 identical submits
at once, 100 rounds, on SQLite and PostgreSQL), `database-cut` (the PostgreSQL connection cut for 30 s),
`sqlite-writers` (32 concurrent writers), `disk-full` (a tmpfs under the SQLite database fills up; root).
Each run starts its own servers and databases and removes them. The summary goes to stdout and, with every
figure, to `bench/reliability/results.json`; the exit status is 1 when any property failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.demo_db import postgres_available
from bench.reliability import database_cut, disk_full, same_key, sqlite_writers, tablets
from bench.reliability.common import Outcome, backends, say

RESULTS = Path(__file__).with_name("results.json")


def _runs(args: argparse.Namespace) -> dict[str, Callable[[Path], list[Outcome]]]:
    duration = args.duration or (45 if args.quick else 300)
    kill_every = 15 if args.quick else 60
    return {
        "tablets": lambda folder: [
            tablets.run(
                folder, backends()[0], duration_s=duration, kill_every_s=min(kill_every, duration // 2)
            )
        ],
        "same-key": lambda folder: [
            same_key.run(folder / backend, backend, quick=args.quick)
            for backend in (["sqlite", "postgres"] if postgres_available() else ["sqlite"])
        ],
        "database-cut": lambda folder: [database_cut.run(folder, quick=args.quick)],
        "sqlite-writers": lambda folder: [sqlite_writers.run(folder, quick=args.quick)],
        "disk-full": lambda folder: [disk_full.run(folder, quick=args.quick)],
    }


def _machine() -> dict[str, object]:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory = meminfo.read_text().splitlines()[0].split(":", 1)[1].strip()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory": memory,
        "load_average_at_end": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the chosen runs, print the summary, write the results; 1 when a property failed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs for development")
    parser.add_argument("--duration", type=int, help="seconds of the tablets run (default 300, quick 45)")
    parser.add_argument(
        "--only", nargs="*", choices=["tablets", "same-key", "database-cut", "sqlite-writers", "disk-full"]
    )
    args = parser.parse_args(argv)
    runs = _runs(args)
    outcomes: list[tuple[Outcome, float]] = []
    for name in args.only or list(runs):
        say(f"== {name}")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"reliability-{name}-") as folder:
            (Path(folder) / "sqlite").mkdir()
            (Path(folder) / "postgres").mkdir()
            for outcome in runs[name](Path(folder)):
                outcomes.append((outcome, time.perf_counter() - started))
    print("\nreliability summary")
    for outcome, seconds in outcomes:
        print(f"  {'PASS' if outcome.passed else 'FAIL'}  {outcome.name}  ({seconds:.0f} s)")
        for description, holds in outcome.checks:
            print(f"        {'ok  ' if holds else 'FAIL'} {description}")
    RESULTS.write_text(json.dumps({
        "about": "Figures of one `make reliability` run on one machine.",
        "quick": args.quick,
        "machine": _machine(),
        "runs": [
            {"name": o.name, "passed": o.passed, "seconds": round(s, 1), "figures": o.figures,
             "checks": [{"property": d, "held": h} for d, h in o.checks]}
            for o, s in outcomes
        ],
    }, indent=2) + "\n")  # fmt: skip
    return 0 if all(outcome.passed for outcome, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
