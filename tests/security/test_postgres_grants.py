"""The grant script: on PostgreSQL the app role cannot change or remove audit rows, even without triggers."""

from __future__ import annotations

import secrets
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from sqlalchemy.engine import make_url

from survey_app.extensions import bind_migrations
from tests.conftest import ON_POSTGRES, PROJECT_ROOT, dispose_engines, make_app

pytestmark = pytest.mark.postgres
SCRIPT = PROJECT_ROOT / "deploy" / "postgres" / "app-role.sql"


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL)")
def test_the_app_role_may_append_but_never_update_or_delete_audit_rows(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = make_app(fresh_database_url, tmp_path / "instance")
    bind_migrations(app)
    with app.app_context():
        flask_migrate.upgrade()
    dispose_engines(app)
    role = f"survey_app_test_{secrets.token_hex(4)}"
    dsn = make_url(fresh_database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as owner:
        owner.execute(f'CREATE ROLE "{role}" NOLOGIN')
        try:
            # Remove the triggers, so only the grants stand between the role and the rows.
            owner.execute("DROP TRIGGER audit_events_append_only ON audit_events")
            owner.execute("DROP TRIGGER consent_records_append_only ON consent_records")
            owner.execute("DROP TRIGGER court_shares_append_only ON court_shares")
            owner.execute(SCRIPT.read_text().replace("survey_app", f'"{role}"'))
            owner.execute(f'SET ROLE "{role}"')
            owner.execute(
                "INSERT INTO audit_events (occurred_at, actor_type, action, details, prev_hash, hash) "
                "VALUES (now(), 'system', 'grant.test', '{}', repeat('0', 64), repeat('a', 64))"
            )
            assert owner.execute("SELECT count(*) FROM audit_events").fetchone() == (1,)
            for statement in (
                "UPDATE audit_events SET action = 'changed'",
                "DELETE FROM audit_events",
                "TRUNCATE audit_events",
                "UPDATE consent_records SET granted = true",
                "DELETE FROM consent_records",
                "UPDATE court_shares SET categories = '[]'",
                "DELETE FROM court_shares",
                "DROP TRIGGER IF EXISTS questionnaire_versions_append_only ON questionnaire_versions",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    owner.execute(statement)
            owner.execute("UPDATE staff_users SET is_active = is_active")  # ordinary tables stay writable
        finally:
            owner.execute("RESET ROLE")
            owner.execute(f'DROP OWNED BY "{role}"')
            owner.execute(f'DROP ROLE "{role}"')
