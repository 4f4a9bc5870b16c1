"""The production gunicorn settings: keep-alive clients are spread over every worker, not piled on one."""

from __future__ import annotations

import http.client
import os
from collections import Counter
from pathlib import Path

import pytest

from bench.servers import Gunicorn, pick_port

#: A WSGI app that answers with the id of the worker process that served the request.
PID_APP = """
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""

CLIENTS = 32


def _served_by(port: int, clients: int) -> Counter[str]:
    """Open `clients` keep-alive connections first, then send one request on each; count workers."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(clients)]
    try:
        for connection in connections:
            connection.connect()
        served: Counter[str] = Counter()
        for connection in connections:
            connection.request("GET", "/")
            answer = connection.getresponse()
            assert answer.status == 200
            served[answer.read().decode()] += 1
        return served
    finally:
        for connection in connections:
            connection.close()


@pytest.mark.skipif(os.name != "posix", reason="gunicorn runs on POSIX systems")
def test_keep_alive_clients_are_spread_over_both_workers(tmp_path: Path) -> None:
    (tmp_path / "pid_app.py").write_text(PID_APP)
    server = Gunicorn(
        "pid_app:app", port=pick_port(0, "TEST_PORT_BASE"), env={"PYTHONPATH": str(tmp_path)},
        log=tmp_path / "gunicorn.log", ready_path="/", cwd=tmp_path,
    )  # fmt: skip
    with server:
        served = _served_by(server.port, CLIENTS)
    # On one shared socket the first worker to wake takes nearly every connection (0-4 of 32 were left for
    # the other); with a socket per worker the kernel spreads them (fewer than 6 on one: 1 in 9,000).
    assert len(served) == 2, f"one worker served all {CLIENTS} clients"
    assert min(served.values()) >= 6, f"one worker served {max(served.values())} of {CLIENTS} clients"
