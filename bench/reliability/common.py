"""What the reliability runs share: an outcome per run, a database per backend, the app with its sessions."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.demo_db import postgres_available, scratch_postgres_database
from bench.servers import PRODUCTION_THREADS, Gunicorn, pick_port
from bench.submit_world import HandedOver, app_environment, prepare


@dataclass
class Outcome:
    """One run: whether every property held, its figures, and a line per property checked."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, description: str, holds: bool) -> bool:
        """Record a property and whether it held."""
        self.checks.append((description, bool(holds)))
        say(f"    {'ok  ' if holds else 'FAIL'} {description}")
        return bool(holds)

    @property
    def passed(self) -> bool:
        """Every property held (and there was at least one)."""
        return bool(self.checks) and all(holds for _, holds in self.checks)


def say(text: str) -> None:
    """Progress on stderr."""
    print(text, file=sys.stderr, flush=True)


def free_port(offset: int) -> int:
    """`RELIABILITY_PORT_BASE` + offset when set, otherwise a port the system picks."""
    return pick_port(offset, "RELIABILITY_PORT_BASE")


@contextmanager
def database(backend: str, folder: Path, name: str) -> Iterator[str]:
    """A new SQLite file in `folder`, or a PostgreSQL database of its own (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{name}.sqlite3'}"
        return
    with scratch_postgres_database(f"survey_reliability_{name}") as url:
        yield url


def backends() -> list[str]:
    """PostgreSQL when its server answers (the shape with several workers), else SQLite only."""
    return ["postgres"] if postgres_available() else ["sqlite"]


@dataclass
class Served:
    """The app under gunicorn, its settings and the sessions handed over beforehand."""

    server: Gunicorn
    environment: dict[str, str]
    sessions: list[HandedOver]


@contextmanager
def serve(
    url: str,
    folder: Path,
    sessions: int,
    port: int,
    *,
    threads: int = PRODUCTION_THREADS,
    database_url_for_app: str | None = None,
    extra: dict[str, str] | None = None,
) -> Iterator[Served]:
    """Prepare `sessions` on `url`, then serve the app (2 workers) on `port`; the app may reach the
    database through another URL (a proxy) than the one used to prepare it."""
    secret = secrets.token_hex(32)
    handed = prepare(url, folder, sessions, secret=secret)
    environment = {**app_environment(database_url_for_app or url, folder, secret), **(extra or {})}
    log = folder / "gunicorn.log"
    with Gunicorn("wsgi:app", port=port, env=environment, log=log, threads=threads) as server:
        yield Served(server, environment, handed)


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
