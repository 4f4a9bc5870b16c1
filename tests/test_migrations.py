"""Migrations: empty -> head -> base -> head works, and the models and the migrations agree."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import Connection, inspect, text
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
    "export_projects", "export_project_members", "export_runs", "export_run_clients",
    # security and privacy
    "staff_mfa", "staff_recovery_codes", "consent_records", "court_shares", "privacy_settings",
    "client_erasures",
    # PDF reports
    "report_settings", "report_batches",
    # administration
    "staff_invitations", "questionnaire_drafts",
    # who owns each questionnaire key
    "questionnaire_keys",
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


def _publish_before_owners(conn: Connection, key: str, version: int, published_by: int | None) -> None:
    conn.execute(
        text(
            "INSERT INTO questionnaire_versions (key, version, content_hash, source_yaml, snapshot, title, "
            "published_at, published_by) VALUES (:key, :version, :h, 'x', '{}', :key, CURRENT_TIMESTAMP, :by)"
        ),
        {"key": key, "version": version, "h": "a" * 64, "by": published_by},
    )


def test_the_owner_of_each_stored_key_is_filled_from_who_published_its_first_version(
    empty_app: Flask,
) -> None:
    with empty_app.app_context():
        flask_migrate.upgrade(revision="0012")
        flask_migrate.downgrade(revision="-1")  # the schema just before owners were recorded
    with empty_app.app_context(), _db.engine.begin() as conn:
        for organisation_id, name in ((1, "Organisation A"), (2, "Organisation B")):
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, created_at) VALUES (:id, :name, CURRENT_TIMESTAMP)"
                ),
                {"id": organisation_id, "name": name},
            )
        for staff_id, organisation_id in ((10, 1), (20, 2)):
            conn.execute(
                text(
                    "INSERT INTO staff_users (id, organisation_id, email, display_name, password_hash, role, "
                    "created_at) VALUES (:id, :org, :email, 'Admin', 'x', 'admin', CURRENT_TIMESTAMP)"
                ),
                {"id": staff_id, "org": organisation_id, "email": f"admin{staff_id}@example.org"},
            )
        _publish_before_owners(conn, "who5", 1, None)  # the deployer's, on the command line
        _publish_before_owners(conn, "who5", 2, 20)  # a next version B's admin published through the web
        _publish_before_owners(conn, "a_intake", 1, 10)  # A's own questionnaire, through the web
        _publish_before_owners(conn, "a_intake", 2, 20)  # and B's version of it
        _publish_before_owners(conn, "b_exit", 1, 20)
    with empty_app.app_context():
        flask_migrate.upgrade(revision="0012")
    with empty_app.app_context(), _db.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, organisation_id FROM questionnaire_keys"))
        owners = {key: owner for key, owner in rows}
    assert owners == {"who5": None, "a_intake": 1, "b_exit": 2}


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


_ROWS_BEFORE_0011 = (
    "INSERT INTO organisations (id, name, created_at) VALUES (1, 'Org', :now)",
    "INSERT INTO sites (id, organisation_id, name, code, created_at) VALUES (1, 1, 'A', 'A', :now)",
    "INSERT INTO programmes (id, organisation_id, key, name, created_at) VALUES (1, 1, 'p', 'P', :now)",
    "INSERT INTO timepoints (id, programme_id, key, label, position, anchor, offset_days, window_before_days,"
    " window_after_days) VALUES (1, 1, 't3m', '3 months', 0, 'intake', 91, 14, 7)",
    "INSERT INTO clients (id, code, site_id, programme_id, intake_date, created_at)"
    " VALUES (1, 'A-CLIENT', 1, 1, '2026-01-05', :now)",
    "INSERT INTO assessment_sessions (id, public_id, client_id, timepoint_id, status, language, mode,"
    " started_at, updated_at) VALUES (1, :first, 1, 1, 'open', 'en', 'tablet', :now, :now)",
    "INSERT INTO assessment_sessions (id, public_id, client_id, timepoint_id, status, language, mode,"
    " started_at, updated_at) VALUES (2, :second, 1, NULL, 'open', 'en', 'tablet', :now, :now)",
)


def test_sessions_stored_before_keep_the_schedule_their_timepoint_has_at_the_upgrade(
    empty_app: Flask,
) -> None:
    values = {"now": "2026-04-01 10:00:00", "first": "1" * 36, "second": "2" * 36}
    with empty_app.app_context():
        flask_migrate.upgrade(revision="0010")
        with _db.engine.begin() as conn:
            for statement in _ROWS_BEFORE_0011:
                conn.execute(text(statement), {k: v for k, v in values.items() if f":{k}" in statement})
        flask_migrate.upgrade()
        with _db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, due_anchor, due_offset_days, due_window_before_days, due_window_after_days"
                    " FROM assessment_sessions ORDER BY id"
                )
            ).all()
    assert [tuple(row) for row in rows] == [(1, "intake", 91, 14, 7), (2, None, None, None, None)]
    with empty_app.app_context(), _db.engine.begin() as conn:  # a hand-over can end with a move now
        conn.execute(
            text(
                "INSERT INTO client_mode_sessions (token_hash, assessment_session_id, via, created_at,"
                " last_seen_at, ended_at, end_reason) VALUES (:token, 1, 'tablet', :now, :now, :now, 'moved')"
            ),
            {"token": "a" * 64, "now": values["now"]},
        )


def test_export_runs_from_before_0013_are_marked_as_holding_anyone(empty_app: Flask) -> None:
    with empty_app.app_context():
        flask_migrate.upgrade(revision="0012")
        with _db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'O', CURRENT_TIMESTAMP)")
            )
            conn.execute(
                text(
                    "INSERT INTO export_projects (id, organisation_id, name, secret_salt, created_at) "
                    "VALUES (1, 1, 'P', :salt, CURRENT_TIMESTAMP)"
                ),
                {"salt": "a" * 64},
            )
            conn.execute(
                text(
                    "INSERT INTO export_runs (public_id, project_id, via, layout, format, options, "
                    "started_at, heartbeat_at) VALUES (:run, 1, 'web', 'long', 'csv', '{}', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"run": "r" * 36},
            )
        flask_migrate.upgrade(revision="0013")
        with _db.engine.connect() as conn:
            assert not conn.execute(text("SELECT clients_recorded FROM export_runs")).scalar_one()


def test_programme_texts_are_filled_from_what_is_stored(empty_app: Flask) -> None:
    with empty_app.app_context():
        flask_migrate.upgrade(revision="0013")
        with _db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'O', CURRENT_TIMESTAMP)")
            )
            conn.execute(
                text(
                    "INSERT INTO programmes (id, organisation_id, key, name, description, created_at) VALUES "
                    "(1, 1, 'drug_treatment_court', 'Drug Treatment Court', 'Ours', CURRENT_TIMESTAMP), "
                    "(2, 1, 'aftercare', 'Aftercare', '', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO timepoints (id, programme_id, key, label, position, anchor, "
                    "offset_days, window_before_days, window_after_days) VALUES "
                    "(1, 1, 't3m', '3 months', 0, 'intake', 91, 0, 0), "
                    "(2, 1, 't0', 'First talk', 1, 'intake', 0, 0, 0), "
                    "(3, 2, 't0', 'Intake', 0, 'intake', 0, 0, 0)"
                )
            )
        flask_migrate.upgrade()
        with _db.engine.connect() as conn:
            names = dict(conn.execute(text("SELECT id, name_texts FROM programmes")).all())
            descriptions = dict(conn.execute(text("SELECT id, description_texts FROM programmes")).all())
            labels = dict(conn.execute(text("SELECT id, label_texts FROM timepoints")).all())
    as_json = {key: json.loads(value) if isinstance(value, str) else value for key, value in names.items()}
    assert as_json[1]["nl"] == "Drugbehandelingskamer" and as_json[2] == {"en": "Aftercare"}
    described = {k: json.loads(v) if isinstance(v, str) else v for k, v in descriptions.items()}
    assert described == {1: {"en": "Ours"}, 2: {"en": ""}}  # a description of its own is kept as it is
    labelled = {k: json.loads(v) if isinstance(v, str) else v for k, v in labels.items()}
    assert labelled[1] == {"en": "3 months", "nl": "3 maanden", "fr": "3 mois"}
    assert labelled[2] == {"en": "First talk"} and labelled[3] == {"en": "Intake"}  # renamed, or not bundled


def test_sessions_stored_before_0015_are_placed_at_their_client_s_current_site(empty_app: Flask) -> None:
    values = {"now": "2026-04-01 10:00:00", "first": "1" * 36, "second": "2" * 36}
    with empty_app.app_context():
        flask_migrate.upgrade(revision="0010")
        with _db.engine.begin() as conn:
            for statement in _ROWS_BEFORE_0011:
                conn.execute(text(statement), {k: v for k, v in values.items() if f":{k}" in statement})
            conn.execute(
                text(
                    "INSERT INTO sites (id, organisation_id, name, code, created_at)"
                    " VALUES (2, 1, 'B', 'B', :now)"
                ),
                {"now": values["now"]},
            )
            conn.execute(text("UPDATE clients SET site_id = 2"))  # moved before the sites were recorded
        flask_migrate.upgrade()
        with _db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, site_id FROM assessment_sessions ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, 2), (2, 2)]


#: Tables whose rows every revision since 0010 keeps, from the programme down to the answers and scores.
_KEPT_TABLES = (
    "sites", "staff_site_memberships", "programmes", "timepoints", "timepoint_questionnaires", "clients",
    "assessment_sessions", "session_questionnaires", "answers", "submissions", "scores", "score_flags",
    "client_mode_sessions", "audit_events",
)  # fmt: skip


def _row_counts(app: Flask) -> dict[str, int]:
    with app.app_context(), _db.engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in _KEPT_TABLES
        }


def test_migrations_that_rebuild_a_table_keep_every_row_that_refers_to_it(empty_app: Flask) -> None:
    """On SQLite a rebuilt table is dropped and copied: with foreign keys on, that dropped the rows that
    refer to it (ON DELETE CASCADE) or refused the upgrade, on any database holding answers."""
    from survey_app.programmes.definition import DEFAULT_PROGRAMME, load_programme_definition
    from survey_app.questionnaires.registry import QuestionnaireRegistry
    from survey_app.services.demo import seed_demo
    from survey_app.services.questionnaires import store_published_versions

    registry = QuestionnaireRegistry(PROJECT_ROOT / "questionnaires")
    with empty_app.app_context():
        flask_migrate.upgrade()
        store_published_versions(_db.session, registry)
        definition = load_programme_definition(DEFAULT_PROGRAMME, registry.versions)
        seed_demo(
            _db.session, definition, clients=6, password_hash="x" * 20, today=dt.date(2026, 11, 26), seed=3
        )
        _db.session.commit()
        _db.session.remove()
    seeded = _row_counts(empty_app)
    assert seeded["answers"] > 100 and seeded["submissions"] > 0 and seeded["client_mode_sessions"] >= 0
    with empty_app.app_context():
        flask_migrate.downgrade(revision="0010")
    assert _row_counts(empty_app) == seeded
    with empty_app.app_context():
        flask_migrate.upgrade()
        with _db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert _row_counts(empty_app) == seeded
