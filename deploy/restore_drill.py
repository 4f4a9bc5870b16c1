"""Restore drill: restore a backup into a scratch database and prove it holds what the live database holds.

    python deploy/restore_drill.py --dump FILE [--source DATABASE_URL]

For every table of the source database (default: DATABASE_URL / the app's configuration) it compares the row
count and a SHA-256 checksum of all rows (ordered by primary key) with the restored copy, prints a table and
exits 0 only when every table matches. Rows written to the source after the dump was taken make counts differ:
run the drill on a dump just taken, or from a quiet replica. The scratch database is always removed.

PostgreSQL dumps (pg_dump --format=custom) are restored with pg_restore into a new database on the same
server; SQLite backups (sqlite3 .backup) are opened as a copy.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def table_fingerprints(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every table's row count and the SHA-256 of its rows in primary-key order."""
    metadata = MetaData()
    metadata.reflect(engine)
    fingerprints = {}
    with engine.connect() as connection:
        for table in sorted(metadata.sorted_tables, key=lambda table: table.name):
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            count = 0
            for row in connection.execution_options(yield_per=5000).execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
                count += 1
            fingerprints[table.name] = (count, digest.hexdigest())
    return fingerprints


@contextmanager
def restored(dump: Path, source_url: str) -> Iterator[str]:
    """Restore the dump into a scratch database; yields its URL and removes it afterwards."""
    url = make_url(source_url)
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "restored.sqlite3"
            shutil.copyfile(dump, copy)
            yield f"sqlite:///{copy}"
        return
    scratch = f"restore_drill_{secrets.token_hex(4)}"
    admin = create_engine(
        url.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    target = url.set(drivername="postgresql+psycopg", database=scratch)
    try:
        plain = target.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", plain, str(dump)], check=True
        )
        yield target.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


def compare(source: dict[str, tuple[int, str]], copy: dict[str, tuple[int, str]]) -> list[str]:
    """One line per table, and whether everything matches."""
    lines = [f"{'table':<28} {'rows':>10} {'restored':>10}  checksum"]
    for name in sorted(set(source) | set(copy)):
        rows, digest = source.get(name, (0, "-"))
        restored_rows, restored_digest = copy.get(name, (0, "-"))
        verdict = "ok" if (rows, digest) == (restored_rows, restored_digest) else "MISMATCH"
        lines.append(f"{name:<28} {rows:>10} {restored_rows:>10}  {verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the drill; 0 when the restored copy matches the source table by table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dump", type=Path, required=True, help="the backup file to restore")
    parser.add_argument("--source", help="the live database URL (default: the app's configuration)")
    args = parser.parse_args(argv)
    if not args.dump.is_file():
        print(f"restore drill: {args.dump} does not exist", file=sys.stderr)
        return 2
    if args.source is None:
        import config

        args.source = config.config_for().SQLALCHEMY_DATABASE_URI
    source_engine = create_engine(args.source)
    source = table_fingerprints(source_engine)
    source_engine.dispose()
    with restored(args.dump, args.source) as url:
        copy_engine = create_engine(url)
        copy = table_fingerprints(copy_engine)
        copy_engine.dispose()
    lines = compare(source, copy)
    print("\n".join(lines))
    ok = all(line.endswith("ok") for line in lines[1:])
    print(
        "restore drill: "
        + ("every table matches" if ok else "MISMATCH: the backup does not hold the live data")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
