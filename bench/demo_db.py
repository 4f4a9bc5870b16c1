"""Seeded demo databases shared by the benchmarks, built once and kept between runs.

`demo_database(clients, backend)` returns the URL of a migrated database holding `flask demo seed
--clients N` (seed 2026, built around 2026-11-26, so every run measures the same data). SQLite files live in
`bench/.cache/`; PostgreSQL databases are named `survey_bench_demo_<N>` on the server of `BENCH_POSTGRES_URL`
(default: the local server). A database whose seeding did not finish is rebuilt. A PostgreSQL database is
vacuumed and analysed before it is used, as autovacuum (on by default) keeps a server's tables: a server
running without it would otherwise plan every benchmark query without statistics.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
DEMO_DAY = "2026-11-26"
POSTGRES_SERVER = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_PREFIX = os.environ.get("BENCH_POSTGRES_PREFIX", "survey_bench_demo")


def _flask(url: str, instance: Path, *args: str) -> None:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SURVEY_INSTANCE_PATH": str(instance),
        "SURVEY_ENV": "development",
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=environment, check=True
    )


def upgrade(url: str, instance: Path) -> None:
    """Bring a cached database to the latest migration (one built before a new migration gets it)."""
    _flask(url, instance, "db", "upgrade")


def _postgres_admin() -> psycopg.Connection:
    import psycopg

    return psycopg.connect(POSTGRES_SERVER.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _vacuum_and_analyse(url: str) -> None:
    """VACUUM (ANALYZE) a database of the benchmark server: its tables as autovacuum would keep them."""
    import psycopg

    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as connection:
        connection.execute("VACUUM (ANALYZE)")


def postgres_url(database: str) -> str:
    """The URL of a database on the benchmark PostgreSQL server."""
    return POSTGRES_SERVER.rsplit("/", 1)[0] + "/" + database


def postgres_available() -> bool:
    """True when the benchmark PostgreSQL server answers."""
    import psycopg

    try:
        psycopg.connect(
            POSTGRES_SERVER.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ).close()
    except psycopg.Error:
        return False
    return True


@contextmanager
def scratch_postgres_database(name: str) -> Iterator[str]:
    """An empty database of its own on the benchmark server, dropped afterwards; yields its URL."""
    with _postgres_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_database(clients: int, backend: str = "sqlite") -> str:
    """A database URL with the seeded demo of `clients` clients (built now if missing or unfinished)."""
    CACHE.mkdir(exist_ok=True)
    instance = CACHE / f"instance-{backend}-{clients}"
    marker = CACHE / f"demo-{backend}-{clients}.done"
    if backend == "sqlite":
        path = CACHE / f"demo-{clients}.sqlite3"
        url = f"sqlite:///{path}"
        if marker.exists() and path.exists():
            upgrade(url, instance)
            return url
        for leftover in CACHE.glob(f"demo-{clients}.sqlite3*"):
            leftover.unlink()
    elif backend == "postgres":
        name = f"{POSTGRES_PREFIX}_{clients}"
        url = postgres_url(name)
        with _postgres_admin() as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            built = bool(exists) and marker.exists()
            if not built:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}"')
        if built:
            upgrade(url, instance)
            _vacuum_and_analyse(url)
            return url
    else:
        raise ValueError(f"backend must be sqlite or postgres, not {backend!r}")
    marker.unlink(missing_ok=True)
    print(
        f"  building the {backend} demo database with {clients:,} clients (once)", file=sys.stderr, flush=True
    )
    _flask(url, instance, "db", "upgrade")
    _flask(url, instance, "demo", "seed", "--clients", str(clients), "--today", DEMO_DAY)
    if backend == "postgres":
        _vacuum_and_analyse(url)
    marker.touch()
    return url
