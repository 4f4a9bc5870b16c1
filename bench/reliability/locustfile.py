"""Simulated tablets for locust: each takes a handed-over session, autosaves it, submits it, and goes on.

Run by `bench/reliability/tablets.py` (headless). Settings come from the environment: `TABLET_SESSIONS`
(the handed-over sessions, JSON), `TABLET_OUTCOMES` (where to write what each session's tablet was told),
`TABLET_RESEND_SHARE` (the share of submits sent a second time with the same key, as after a lost answer).

A tablet answers the 50 items a page of ten at a time, autosaving each page, then submits with its key.
After a failure (a dropped connection or a 5xx, as when a worker is killed) it sends the same request
again after a second, as the tablet's script does, until it is answered.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.exception import StopUser

SESSIONS: list[dict[str, Any]] = json.loads(Path(os.environ["TABLET_SESSIONS"]).read_text())
OUTCOMES = Path(os.environ["TABLET_OUTCOMES"])
RESEND_SHARE = float(os.environ.get("TABLET_RESEND_SHARE", "0.05"))
PAGE = 10
GIVE_UP_S = 120
_pool = iter(SESSIONS)
_outcomes: dict[str, dict[str, Any]] = {}


def _entries(session: dict[str, Any], items: list[str]) -> list[dict[str, Any]]:
    return [
        {"questionnaire": "bench50", "version": 1, "item": item, "value": session["answers"][item]}
        for item in items
    ]


class Tablet(HttpUser):
    """One tablet in a waiting room: a client at a time fills a session on it."""

    wait_time = between(1, 3)

    def _send(self, method: str, path: str, name: str, session: dict[str, Any], body: dict[str, Any]) -> Any:
        """Send until answered (2xx or 4xx); a failed try is reported to locust, then tried again."""
        headers = {
            "Content-Type": "application/json",
            "X-CSRFToken": session["csrf"],
            "Cookie": session["cookie"],
        }
        deadline = time.monotonic() + GIVE_UP_S
        while True:
            with self.client.request(method, path, name=name, data=json.dumps(body), headers=headers,
                                     catch_response=True) as response:  # fmt: skip
                if 200 <= response.status_code < 500:
                    if response.status_code >= 400:
                        response.failure(f"{response.status_code}: {response.text[:200]}")
                    return response
                response.failure(f"{response.status_code or 'no answer'}: will send again")
            if time.monotonic() > deadline:
                return response
            time.sleep(1)

    @task
    def fill_one_session(self) -> None:
        """Answer, autosave page by page, submit (sometimes twice), and write down what came back."""
        session = next(_pool, None)
        if session is None:
            raise StopUser()
        base = f"/api/v1/sessions/{session['public_id']}"
        items = list(session["answers"])
        outcome = _outcomes.setdefault(
            session["public_id"], {"acknowledged": False, "resent": False, "last": None}
        )
        for start in range(0, len(items) - PAGE, PAGE):
            time.sleep(random.uniform(0.2, 0.8))  # reading and tapping a page of questions
            page = {"answers": _entries(session, items[start : start + PAGE])}
            outcome["last"] = self._send("PUT", f"{base}/answers", "PUT answers", session, page).status_code
        body = {"idempotency_key": session["key"], "answers": _entries(session, items[-PAGE:])}
        first = self._send("POST", f"{base}/submit", "POST submit", session, body)
        outcome["acknowledged"], outcome["last"] = first.status_code == 200, first.status_code
        if outcome["acknowledged"] and random.random() < RESEND_SHARE:
            again = self._send("POST", f"{base}/submit", "POST submit (same key again)", session, body)
            outcome.update(
                resent=True,
                replayed=again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true",
            )


@events.quitting.add_listener
def write_outcomes(environment: Any, **_: Any) -> None:
    """What each session's tablet was told, and the latency percentiles locust measured."""
    stats = {
        name: {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "max_ms": entry.max_response_time,
        }
        for (name, _method), entry in environment.stats.entries.items()
    }
    total = environment.stats.total
    stats["all"] = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "p50_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "max_ms": total.max_response_time,
    }
    OUTCOMES.write_text(json.dumps({"sessions": _outcomes, "stats": stats}))
