"""/healthz: up with its database, or a 503 that says the database is unavailable."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import ON_POSTGRES, dispose_engines, make_app

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/survey"


def test_healthz_reports_ok_after_reaching_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


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
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = make_app(fresh_database_url, tmp_path / "instance")
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
    dispose_engines(app)
