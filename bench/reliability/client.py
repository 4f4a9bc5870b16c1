"""A tablet as the reliability runs drive it: one keep-alive connection, autosave, submit, retry.

The tablet's script keeps answers on the device and sends them again after a failure (a dropped connection
or a 5xx), with the same idempotency key for the submit; `Tablet` does the same, waiting `retry_wait`
seconds between tries, and records every reply.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.submit_world import HandedOver


@dataclass(frozen=True)
class Reply:
    """One answer the server gave (status 0: no answer, the connection failed)."""

    at: float
    method: str
    status: int
    retry_after: str | None
    body: str
    seconds: float

    def json(self) -> dict[str, Any] | None:
        """The body as JSON, or None when it is not JSON."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


class Tablet:
    """One client's tablet talking to the app on 127.0.0.1:`port`."""

    def __init__(self, port: int, record: Callable[[Reply], None], timeout: float = 30) -> None:
        self.port, self.record, self.timeout = port, record, timeout
        self._connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        """Drop the connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def send(self, method: str, path: str, handed: HandedOver, body: dict[str, Any]) -> Reply:
        """One request over the kept-alive connection (reconnecting when it was closed)."""
        started = time.perf_counter()
        try:
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._connection.request(method, path, body=json.dumps(body), headers=handed.headers())
            answer = self._connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            reply = Reply(time.time(), method, answer.status, answer.getheader("Retry-After"), text,
                          time.perf_counter() - started)  # fmt: skip
            if answer.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            reply = Reply(time.time(), method, 0, None, repr(error), time.perf_counter() - started)
        self.record(reply)
        return reply

    def until_accepted(
        self, method: str, path: str, handed: HandedOver, body: dict[str, Any], *, retry_wait: float,
        give_up_at: float,
    ) -> Reply:  # fmt: skip
        """Send until the server takes it (2xx) or refuses it for good (4xx), as the tablet's script does."""
        while True:
            reply = self.send(method, path, handed, body)
            if 200 <= reply.status < 500 or time.monotonic() >= give_up_at:
                return reply
            time.sleep(retry_wait)

    def fill_and_submit(
        self, handed: HandedOver, *, key: str, retry_wait: float, give_up_at: float, batches: int = 2
    ) -> bool:
        """Autosave the answers in `batches` PUTs, then submit them all with `key`; True when acknowledged."""
        items = list(handed.answers)
        size = -(-len(items) // batches)
        base = f"/api/v1/sessions/{handed.public_id}"
        for start in range(0, len(items), size):
            body: dict[str, Any] = {"answers": handed.entries(items[start : start + size])}
            reply = self.until_accepted("PUT", f"{base}/answers", handed, body, retry_wait=retry_wait,
                                        give_up_at=give_up_at)  # fmt: skip
            if reply.status != 200:
                return False
        body = {"idempotency_key": key, "answers": handed.entries()}
        reply = self.until_accepted("POST", f"{base}/submit", handed, body, retry_wait=retry_wait,
                                    give_up_at=give_up_at)  # fmt: skip
        return reply.status == 200
