"""50 identical submits with one idempotency key at once, 100 rounds: exactly one submission each round.

Each round takes a fresh handed-over session and opens 50 keep-alive connections to the app (2 workers,
2 threads); the 50 copies of the same submit leave together. Every copy must be answered 200: one stores the
session, the 49 others replay it (`Idempotent-Replayed: true`); the database must then hold exactly one
submission and the 50 answers for it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.loadgen import run_plan
from bench.reliability.common import Outcome, database, free_port, say, serve
from bench.submit_world import stored_check

COPIES = 50


def run(folder: Path, backend: str, *, quick: bool) -> Outcome:
    """Run the rounds on one backend."""
    rounds = 10 if quick else 100
    outcome = Outcome(f"{COPIES} identical submits, one key, {rounds} rounds ({backend})")
    fresh_per_round, failures = [], 0
    with database(backend, folder, "same_key") as url, serve(url, folder, rounds, free_port(21)) as served:
        for number, handed in enumerate(served.sessions):
            request = {
                "method": "POST",
                "path": f"/api/v1/sessions/{handed.public_id}/submit",
                "headers": handed.headers(),
                "body": handed.submit_body(f"same-key-{handed.public_id}"),
            }
            plan = {"port": served.server.port, "concurrency": COPIES, "requests": [request] * COPIES}
            results = asyncio.run(run_plan(plan))["results"]
            fresh_per_round.append(
                sum(1 for status, _, replayed, _ in results if status == 200 and not replayed)
            )
            failures += sum(1 for status, *_ in results if status != 200)
            if number % 10 == 9:
                say(f"    {number + 1} of {rounds} rounds")
        check = stored_check(url, [(handed, True) for handed in served.sessions])
    outcome.figures.update(
        {
            "rounds": rounds,
            "requests": rounds * COPIES,
            "rounds_with_one_fresh_submit": sum(1 for fresh in fresh_per_round if fresh == 1),
            "non_200_answers": failures,
            **check.to_json(),
        }
    )
    outcome.check(
        f"every round stored its session exactly once: lost {check.lost}, duplicated {check.duplicated}",
        check.lost == 0 and check.duplicated == 0,
    )
    outcome.check(
        "in every round one copy submitted and the 49 others replayed",
        all(fresh == 1 for fresh in fresh_per_round),
    )
    outcome.check(f"every copy was answered 200 ({failures} were not)", failures == 0)
    return outcome
