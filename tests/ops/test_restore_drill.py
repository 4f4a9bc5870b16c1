"""The backup restore drill: a fresh backup restores with equal rows and checksums; a stale one is caught."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from survey_app.extensions import db
from survey_app.models import Organisation, Site

DRILL = Path(__file__).resolve().parents[2] / "deploy" / "restore_drill.py"


def load_drill():  # the drill is a deploy script, not part of the package
    spec = importlib.util.spec_from_file_location("restore_drill", DRILL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backup(url: str, target: Path) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        dump = target / "backup.sqlite3"
        subprocess.run(["sqlite3", parsed.database, f".backup '{dump}'"], check=True)
    else:
        dump = target / "backup.dump"
        plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), plain], check=True)
    return dump


def test_a_fresh_backup_matches_and_a_stale_one_is_caught(
    fresh_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(fresh_database_url, poolclass=NullPool)
    db.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(Organisation.__table__), [{"name": f"Organisation {n}"} for n in range(50)])
        connection.execute(insert(Site.__table__), [{"organisation_id": 1, "name": "Gent", "code": "GENT"}])
    dump = backup(fresh_database_url, tmp_path)
    drill = load_drill()
    assert drill.main(["--dump", str(dump), "--source", fresh_database_url]) == 0
    report = capsys.readouterr().out
    assert "organisations                        50         50  ok" in report
    assert "every table matches" in report
    with engine.begin() as connection:
        connection.execute(insert(Organisation.__table__), [{"name": "Written after the backup"}])
    assert drill.main(["--dump", str(dump), "--source", fresh_database_url]) == 1
    assert "organisations                        51         50  MISMATCH" in capsys.readouterr().out
    engine.dispose()


def test_a_missing_dump_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load_drill().main(["--dump", str(tmp_path / "nope.dump"), "--source", "sqlite://"]) == 2
    assert "does not exist" in capsys.readouterr().err
