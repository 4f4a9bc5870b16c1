"""The benchmark and reliability runs' own helpers, which `make bench` and `make reliability` start from."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.demo_db import POSTGRES_SERVER, ROOT, _flask, demo_database, postgres_available
from survey_app.services.schema_version import head_revisions


def test_whether_postgresql_answers_is_a_yes_or_no(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(postgres_available(), bool)
    monkeypatch.setattr("bench.demo_db.POSTGRES_SERVER", POSTGRES_SERVER.rsplit(":", 1)[0] + ":9/postgres")
    assert postgres_available() is False  # nothing listens on port 9: a "no", not a crash


def test_a_cached_demo_database_gets_the_migrations_made_after_it_was_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bench.demo_db.CACHE", tmp_path)
    path = tmp_path / "demo-5.sqlite3"
    instance = tmp_path / "instance-sqlite-5"
    _flask(f"sqlite:///{path}", instance, "db", "upgrade", "0013")  # as built before the last migration
    (tmp_path / "demo-sqlite-5.done").touch()
    assert demo_database(5) == f"sqlite:///{path}"
    with sqlite3.connect(path) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {revision} == head_revisions(str(ROOT / "migrations"))


def test_the_rescoring_benchmark_builds_its_sessions_as_the_schema_asks() -> None:
    from bench.bench_scoring import rescore_time

    figure = rescore_time(True)  # its quick run: 5,000 sessions stored, then scored again
    assert figure["value"] > 0 and "5,000 PHQ-9 sessions" in figure["note"]


def test_the_workspace_benchmark_tops_the_demo_up_with_sessions_the_schema_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import bench_workspace

    path = tmp_path / "demo.sqlite3"
    url = f"sqlite:///{path}"
    _flask(url, tmp_path / "instance", "db", "upgrade")
    _flask(url, tmp_path / "instance", "demo", "seed", "--clients", "3")
    with sqlite3.connect(path) as connection:
        (before,) = connection.execute("SELECT count(*) FROM assessment_sessions").fetchone()
    monkeypatch.setattr(bench_workspace, "SESSIONS", before + 4)
    bench_workspace._top_up(url)
    with sqlite3.connect(path) as connection:
        placed = connection.execute(
            "SELECT count(*) FROM assessment_sessions AS s JOIN clients AS c ON c.id = s.client_id"
            " WHERE s.site_id = c.site_id"
        ).fetchone()
    assert placed == (before + 4,)


def test_the_submission_benchmark_s_browsers_hold_what_a_tablet_holds_after_its_first_page(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A real tablet's submit leaves its cookie alone. A cookie from before the first page made every submit
    sign a new one: work the benchmark measured and a tablet never does."""
    import uuid

    from bench.submit_world import app_environment, prepare
    from survey_app import create_app

    url, secret = f"sqlite:///{tmp_path / 'bench.sqlite3'}", "s" * 40
    (browser,) = prepare(url, tmp_path, 1, secret=secret)
    assert '"route"' not in capfd.readouterr().err  # showing the first pages logs no request lines
    environment = app_environment(url, tmp_path, secret)
    app = create_app("production", DATABASE_URL=url, SECRET_KEY=secret,
                     SURVEY_INSTANCE_PATH=environment["SURVEY_INSTANCE_PATH"],
                     QUESTIONNAIRE_DIR=environment["QUESTIONNAIRE_DIR"])  # fmt: skip
    headers = {**browser.headers(), "Referer": "https://localhost/client/"}
    name, value = headers.pop("Cookie").split("=", 1)
    client = app.test_client()
    client.set_cookie(name, value, domain="localhost")
    answer = client.post(
        f"/api/v1/sessions/{browser.public_id}/submit",
        data=browser.submit_body(str(uuid.uuid4())),
        headers=headers,
        base_url="https://localhost",
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers.getlist("Set-Cookie") == []


@pytest.mark.skipif(not postgres_available(), reason="needs the benchmark PostgreSQL server")
def test_a_postgresql_demo_database_has_the_statistics_autovacuum_would_have_gathered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server running without autovacuum planned every benchmark query on tables it had never analysed."""
    import os

    import psycopg

    from bench import demo_db

    monkeypatch.setattr(demo_db, "CACHE", tmp_path)
    monkeypatch.setattr(demo_db, "POSTGRES_PREFIX", f"survey_test_demo_{os.getpid()}")
    url = demo_db.demo_database(2, "postgres")
    try:
        for _ in range(2):  # built, then taken from the cache
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
                (analysed,) = connection.execute(
                    "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'answers'"
                ).fetchone() or (False,)
            assert analysed
            url = demo_db.demo_database(2, "postgres")
    finally:
        with demo_db._postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
