"""Migrations: empty -> head -> base -> head works, and the models and the migrations agree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from survey_app.extensions import Base, bind_migrations
from survey_app.extensions import db as _db
from tests.conftest import DATABASE_KINDS, PROJECT_ROOT, dispose_engines, fresh_database, make_app

EXPECTED_TABLES = {
    "organisations", "sites", "staff_users", "staff_site_memberships", "staff_sessions", "clients",
    "client_identities", "client_anchor_dates", "programmes", "timepoints", "timepoint_questionnaires",
    "questionnaire_versions", "assessment_sessions", "session_questionnaires", "answers", "submissions",
    "scores", "score_flags", "audit_events",
    # answers taken back (so that an answer that waited on another device is not stored again)
    "answer_clears",
    # client tablet
    "client_mode_sessions", "client_access_codes", "client_code_attempts",
    # counsellor workspace
    "session_notes", "alert_acknowledgements", "alert_settings", "alert_recipients", "client_status_changes",
    "client_anchor_changes",
    # research exports
    "export_projects", "export_project_members", "export_runs",
    # security and privacy
    "staff_mfa", "staff_recovery_codes", "consent_records", "court_shares", "privacy_settings",
    "client_erasures",
    # PDF reports
    "report_settings", "report_batches",
    # administration
    "staff_invitations", "questionnaire_drafts",
}  # fmt: skip


@pytest.fixture(params=DATABASE_KINDS)
def empty_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on a brand-new, empty database of each kind under test."""
    with fresh_database(tmp_path, "m", kind=request.param) as url:
        app = make_app(url, tmp_path / "instance")
        bind_migrations(app)
        yield app
        dispose_engines(app)


def _tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(_db.engine).get_table_names())


def _differences(app: Flask) -> list[object]:
    with app.app_context(), _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _version_update_is_refused(app: Flask) -> None:
    with app.app_context(), _db.engine.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO questionnaire_versions (key, version, content_hash, source_yaml, snapshot, "
                "title, published_at) VALUES ('who5', 1, :h, 'x', '{}', 'WHO-5', CURRENT_TIMESTAMP)"
            ),
            {"h": "a" * 64},
        )
        with pytest.raises(IntegrityError, match="append-only"):
            conn.execute(text("UPDATE questionnaire_versions SET title = 'changed'"))
        conn.rollback()


def test_upgrade_downgrade_upgrade_and_the_models_match_the_migrations(empty_app: Flask) -> None:
    with empty_app.app_context():
        flask_migrate.upgrade()
    assert _tables(empty_app) == EXPECTED_TABLES | {"alembic_version"}
    assert _differences(empty_app) == []
    _version_update_is_refused(empty_app)  # the migration installed the append-only triggers

    with empty_app.app_context():
        flask_migrate.downgrade(revision="base")
    assert _tables(empty_app) == {"alembic_version"}

    with empty_app.app_context():
        flask_migrate.upgrade()
    assert _tables(empty_app) == EXPECTED_TABLES | {"alembic_version"}
    assert _differences(empty_app) == []


def test_a_failing_upgrade_leaves_nothing_half_written(empty_app: Flask) -> None:
    with empty_app.app_context(), _db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE sites (id INTEGER PRIMARY KEY)"))  # in the way of the migration
    with empty_app.app_context(), pytest.raises(Exception, match="sites"):
        flask_migrate.upgrade()
    assert _tables(empty_app) == {"sites"}, "tables created before the failure must be rolled back"


def test_revisions_never_import_the_app() -> None:
    for revision in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import)\s+(survey_app\S*|config)\b", revision.read_text(), re.M)
        assert imports == [], f"{revision.name} imports app code {imports}; revisions must be frozen"
