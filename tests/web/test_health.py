"""/healthz: up with its database at the code's schema, or a 503 that says what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import ON_POSTGRES, PROJECT_ROOT, dispose_engines, make_app

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/survey"


def test_healthz_reports_ok_after_reaching_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "migrations": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def migrated_app(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own, migrated by each test as far as it needs."""
    app = make_app(fresh_database_url, tmp_path / "instance")
    yield app
    dispose_engines(app)


def _upgrade(app: Flask, revision: str) -> None:
    with app.app_context():
        flask_migrate.upgrade(directory=app.config["MIGRATIONS_DIR"], revision=revision)


def test_healthz_is_503_with_the_reason_while_the_schema_is_behind_the_code(migrated_app: Flask) -> None:
    scripts = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    head = scripts.get_current_head()
    assert head is not None
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)
    _upgrade(migrated_app, previous)  # the code was deployed, its migration not yet run
    response = migrated_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json is not None
    assert (response.json["status"], response.json["database"], response.json["migrations"]) == (
        "unavailable", "ok", "behind"
    )  # fmt: skip
    assert response.json["reason"] == (
        f"The database schema is at revision {previous}, but this code needs {head}: run `flask db upgrade`."
    )
    _upgrade(migrated_app, "head")
    assert migrated_app.test_client().get("/healthz").json == {
        "status": "ok", "database": "ok", "migrations": "ok"
    }  # fmt: skip


def test_healthz_is_503_on_a_database_never_migrated(migrated_app: Flask) -> None:
    response = migrated_app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json is not None
    assert response.json["migrations"] == "behind"
    assert "has no migrations applied" in response.json["reason"]
    assert "flask db upgrade" in response.json["reason"]


def test_healthz_is_503_json_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    app = make_app(UNREACHABLE, tmp_path / "instance")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable"}
    assert int(response.headers["Retry-After"]) > 0
    assert b"Traceback" not in response.data


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL)")
def test_the_app_recovers_when_its_database_connections_are_cut(
    migrated_app: Flask, fresh_database_url: str
) -> None:
    app = migrated_app
    with app.app_context():
        flask_migrate.stamp(directory=app.config["MIGRATIONS_DIR"])  # what the schema is does not matter here
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    database = make_url(fresh_database_url).database
    admin = create_engine(make_url(fresh_database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        cut = conn.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db"),
            {"db": database},
        ).scalar()
    admin.dispose()
    assert cut and cut >= 1, "the pooled connection should have been cut"
    assert client.get("/healthz").status_code == 200  # pool_pre_ping replaced the dead connection
