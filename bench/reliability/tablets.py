"""40 simulated tablets (locust, headless) for 5 minutes while a gunicorn worker is killed every 60 seconds.

The app runs as in production (2 workers, 2 threads). Each tablet fills one handed-over session after the
other: autosaves four pages of ten answers, submits with the last page and its idempotency key, and for 5%
of the sessions sends the same submit again. Every `kill_every` seconds one worker gets SIGKILL, mid-request;
gunicorn starts another, and the tablets send what failed again. Afterwards every acknowledged session must
be stored exactly as sent (lost 0, duplicated 0), every second submit must have replayed the first, and the
latency percentiles are reported as locust measured them (failed tries included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from bench.reliability.common import Outcome, database, free_port, say, serve, wait_for
from bench.servers import Gunicorn
from bench.submit_world import stored_check

TABLETS = 40
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _replaced(server: Gunicorn, killed: int | None) -> bool:
    """The killed worker is gone and gunicorn runs two workers again."""
    workers = server.workers()
    return len(workers) == 2 and killed not in workers


def run(folder: Path, backend: str, *, duration_s: int, kill_every_s: int) -> Outcome:
    """Run the tablets for `duration_s` seconds, killing a worker every `kill_every_s` seconds."""
    outcome = Outcome(
        f"{TABLETS} tablets for {duration_s} s, a worker killed every {kill_every_s} s ({backend})"
    )
    count = TABLETS * duration_s // 4 + 200  # a session takes a tablet 4.5 s or more; spares stay unused
    with database(backend, folder, "tablets") as url, serve(url, folder, count, free_port(51)) as served:
        sessions_file, outcomes_file = folder / "tablet-sessions.json", folder / "tablet-outcomes.json"
        sessions_file.write_text(json.dumps([
            {"public_id": h.public_id, "cookie": h.cookie, "csrf": h.csrf, "answers": h.answers,
             "key": f"tablet-{h.public_id}"}
            for h in served.sessions
        ]))  # fmt: skip
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--users", str(TABLETS),
            "--spawn-rate", "10", "--run-time", f"{duration_s}s", "--stop-timeout", "150",
            "--host", served.server.url, "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        environment = {
            **os.environ,
            "TABLET_SESSIONS": str(sessions_file),
            "TABLET_OUTCOMES": str(outcomes_file),
        }
        kill_at = [
            kill_every_s * n
            for n in range(1, duration_s // kill_every_s + 1)
            if kill_every_s * n < duration_s
        ]
        kills, replaced = 0, 0
        with (folder / "locust.log").open("w") as log:
            started = time.monotonic()
            locust = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
            while locust.poll() is None:
                time.sleep(0.5)
                if kills < len(kill_at) and time.monotonic() - started >= kill_at[kills]:
                    killed = served.server.kill_worker()
                    kills += 1
                    replaced += wait_for(partial(_replaced, served.server, killed), 30)
                    say(f"    {time.monotonic() - started:.0f} s: killed worker {killed}")
        result = json.loads(outcomes_file.read_text())
        taken = {h.public_id: h for h in served.sessions if h.public_id in result["sessions"]}
        told = result["sessions"]
        check = stored_check(
            url, [(handed, told[public_id]["acknowledged"]) for public_id, handed in taken.items()]
        )
    _report(outcome, told, result["stats"], check.to_json(), (kills, len(kill_at), replaced))
    outcome.figures["sessions_prepared"] = count
    outcome.check(f"the tablets had sessions to the end ({len(told)} of {count} taken)", len(told) < count)
    return outcome


def _report(
    outcome: Outcome, told: dict[str, dict[str, object]], stats: dict[str, dict[str, float]],
    check: dict[str, int], killing: tuple[int, int, int],
) -> None:  # fmt: skip
    kills, planned, replaced = killing
    resent = [entry for entry in told.values() if entry.get("resent")]
    begun = [
        entry for entry in told.values() if entry.get("last") is not None
    ]  # the run may end before a first save
    unacknowledged = sorted({str(entry["last"]) for entry in begun if not entry.get("acknowledged")})
    outcome.figures.update(
        {
            "sessions_begun": len(begun),
            "acknowledged": check["acknowledged"],
            "resent_with_same_key": len(resent),
            "workers_killed": kills,
            "p50_ms": stats["all"]["p50_ms"],
            "p95_ms": stats["all"]["p95_ms"],
            "submit_p95_ms": stats.get("POST submit", {}).get("p95_ms"),
            "max_ms": stats["all"]["max_ms"],
            "requests": stats["all"]["requests"],
            "failed_tries_sent_again": stats["all"]["failures"],
            "lost": check["lost"],
            "duplicated": check["duplicated"],
        }
    )
    outcome.check(
        f"lost {check['lost']}, duplicated {check['duplicated']} (of {check['acknowledged']} acknowledged)",
        check["lost"] == 0 and check["duplicated"] == 0,
    )
    outcome.check(
        f"every session begun was acknowledged in the end ({check['acknowledged']} of {len(begun)}; "
        f"the others' last answers: {', '.join(unacknowledged) or 'none'})",
        check["acknowledged"] == len(begun),
    )
    outcome.check(
        f"all {len(resent)} second submits with the same key replayed the first",
        bool(resent) and all(entry.get("replayed") for entry in resent),
    )
    outcome.check(
        f"{kills} of {planned} planned workers killed, each replaced by gunicorn",
        planned > 0 and kills == planned and replaced == kills,
    )
    outcome.check(
        f"p95 latency reported: {stats['all']['p95_ms']} ms over {stats['all']['requests']} requests",
        stats["all"]["requests"] > 0,
    )
