"""Initial schema: organisations, people, programmes, questionnaire versions, assessments, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 15:16:00.188817

Hand-checked after autogenerate: constraint names follow the naming convention in
survey_app/extensions.py; key-format CHECKs and the append-only triggers are written per dialect
(SQLite has no regular expressions and no plpgsql). This file is frozen: it never imports the app.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
APPEND_ONLY_TABLES = ("questionnaire_versions", "audit_events")

PG_REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION survey_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = TG_TABLE_NAME || ' is append-only; ' || TG_OP || ' refused',
        ERRCODE = 'restrict_violation';
END
$body$
"""


def _dialect() -> str:
    return op.get_bind().dialect.name


def key_format(column: str, name: str) -> sa.CheckConstraint:
    """CHECK: a lower-case letter, then lower-case letters, digits and _ (1-40 characters)."""
    length = f"length({column}) BETWEEN 1 AND 40"
    if _dialect() == "postgresql":
        sql = f"{column} ~ '^[a-z][a-z0-9_]*$' AND {length}"
    else:
        sql = f"{length} AND substr({column}, 1, 1) GLOB '[a-z]' AND {column} NOT GLOB '*[^a-z0-9_]*'"
    return sa.CheckConstraint(sql, name=op.f(name))


def _append_only_ddl(table: str) -> list[str]:
    if _dialect() == "postgresql":
        return [
            PG_REFUSE_CHANGE_FUNCTION,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION survey_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION survey_refuse_change()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only; {op_name} refused'); END"
        for op_name in ("UPDATE", "DELETE")
    ]


def _drop_append_only_ddl(table: str) -> list[str]:
    if _dialect() == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_no_{name}" for name in ("update", "delete")]


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("details", JSON_VALUE, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "actor_type IN ('staff', 'client', 'system')", name=op.f("ck_audit_events_actor_type_known")
        ),
        sa.CheckConstraint("length(action) BETWEEN 3 AND 64", name=op.f("ck_audit_events_action_length")),
        sa.CheckConstraint("length(hash) = 64", name=op.f("ck_audit_events_hash_length")),
        sa.CheckConstraint("length(prev_hash) = 64", name=op.f("ck_audit_events_prev_hash_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_events_prev_hash")),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"], unique=False)
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_organisations_name_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        key_format("key", "ck_programmes_key_format"),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_programmes_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_programmes_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("organisation_id", "key", name=op.f("uq_programmes_organisation_id_key")),
    )
    op.create_index(op.f("ix_programmes_organisation_id"), "programmes", ["organisation_id"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("default_language", sa.String(length=2), server_default="en", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "default_language IN ('en', 'nl', 'fr')", name=op.f("ck_sites_default_language_known")
        ),
        sa.CheckConstraint("length(code) BETWEEN 1 AND 32", name=op.f("ck_sites_code_length")),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_sites_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_sites_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_sites_organisation_id_name")),
    )
    op.create_index(op.f("ix_sites_organisation_id"), "sites", ["organisation_id"], unique=False)

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("session_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_login_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'site_lead', 'counsellor', 'researcher', 'court_liaison')",
            name=op.f("ck_staff_users_role_known"),
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_staff_users_email_lower_case")),
        sa.CheckConstraint(
            "failed_login_count >= 0", name=op.f("ck_staff_users_failed_login_count_not_negative")
        ),
        sa.CheckConstraint("length(email) BETWEEN 3 AND 254", name=op.f("ck_staff_users_email_length")),
        sa.CheckConstraint("session_version >= 1", name=op.f("ck_staff_users_session_version_positive")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_staff_users_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_users_email")),
    )
    op.create_index(op.f("ix_staff_users_organisation_id"), "staff_users", ["organisation_id"], unique=False)

    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("preferred_language", sa.String(length=2), server_default="en", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("intake_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "preferred_language IN ('en', 'nl', 'fr')", name=op.f("ck_clients_preferred_language_known")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'withdrawn', 'completed')", name=op.f("ck_clients_status_known")
        ),
        sa.CheckConstraint("code = upper(code)", name=op.f("ck_clients_code_upper_case")),
        sa.CheckConstraint("length(code) BETWEEN 4 AND 32", name=op.f("ck_clients_code_length")),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["staff_users.id"],
            name=op.f("fk_clients_counsellor_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programmes.id"], name=op.f("fk_clients_programme_id_programmes")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_clients_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("code", name=op.f("uq_clients_code")),
    )
    op.create_index(op.f("ix_clients_counsellor_id"), "clients", ["counsellor_id"], unique=False)
    op.create_index(op.f("ix_clients_programme_id"), "clients", ["programme_id"], unique=False)
    op.create_index(op.f("ix_clients_site_id"), "clients", ["site_id"], unique=False)

    op.create_table(
        "questionnaire_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source_yaml", sa.Text(), nullable=False),
        sa.Column("snapshot", JSON_VALUE, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        key_format("key", "ck_questionnaire_versions_key_format"),
        sa.CheckConstraint(
            "length(content_hash) = 64", name=op.f("ck_questionnaire_versions_content_hash_length")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_questionnaire_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["staff_users.id"],
            name=op.f("fk_questionnaire_versions_published_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_versions")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_questionnaire_versions_key_version")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.CheckConstraint("length(token_hash) = 64", name=op.f("ck_staff_sessions_token_hash_length")),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_sessions_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_staff_sessions_staff_user_id"), "staff_sessions", ["staff_user_id"], unique=False
    )

    op.create_table(
        "staff_site_memberships",
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_staff_site_memberships_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_site_memberships_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_user_id", "site_id", name=op.f("pk_staff_site_memberships")),
    )
    op.create_table(
        "timepoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.String(length=40), server_default="intake", nullable=False),
        sa.Column("offset_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_before_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_after_days", sa.Integer(), server_default="0", nullable=False),
        key_format("anchor", "ck_timepoints_anchor_format"),
        key_format("key", "ck_timepoints_key_format"),
        sa.CheckConstraint("offset_days >= 0", name=op.f("ck_timepoints_offset_not_negative")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_timepoints_position_not_negative")),
        sa.CheckConstraint("window_after_days >= 0", name=op.f("ck_timepoints_window_after_not_negative")),
        sa.CheckConstraint("window_before_days >= 0", name=op.f("ck_timepoints_window_before_not_negative")),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_timepoints_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timepoints")),
        sa.UniqueConstraint("programme_id", "key", name=op.f("uq_timepoints_programme_id_key")),
        sa.UniqueConstraint("programme_id", "position", name=op.f("uq_timepoints_programme_id_position")),
    )
    op.create_index(op.f("ix_timepoints_programme_id"), "timepoints", ["programme_id"], unique=False)

    op.create_table(
        "assessment_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("timepoint_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'submitted') = (submitted_at IS NOT NULL)",
            name=op.f("ck_assessment_sessions_submitted_at_iff_submitted"),
        ),
        sa.CheckConstraint(
            "language IN ('en', 'nl', 'fr')", name=op.f("ck_assessment_sessions_language_known")
        ),
        sa.CheckConstraint(
            "mode IN ('tablet', 'own_device', 'interview', 'paper')",
            name=op.f("ck_assessment_sessions_mode_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'submitted', 'cancelled')", name=op.f("ck_assessment_sessions_status_known")
        ),
        sa.CheckConstraint("length(public_id) = 36", name=op.f("ck_assessment_sessions_public_id_length")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_assessment_sessions_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_assessment_sessions_created_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["timepoint_id"], ["timepoints.id"], name=op.f("fk_assessment_sessions_timepoint_id_timepoints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_sessions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_assessment_sessions_public_id")),
    )
    op.create_index(
        op.f("ix_assessment_sessions_client_id"), "assessment_sessions", ["client_id"], unique=False
    )
    op.create_index(
        op.f("ix_assessment_sessions_timepoint_id"), "assessment_sessions", ["timepoint_id"], unique=False
    )
    op.create_index(
        "uq_assessment_sessions_client_timepoint_live",
        "assessment_sessions",
        ["client_id", "timepoint_id"],
        unique=True,
        sqlite_where=sa.text("status != 'cancelled'"),
        postgresql_where=sa.text("status != 'cancelled'"),
    )

    op.create_table(
        "client_anchor_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.String(length=40), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        key_format("anchor", "ck_client_anchor_dates_anchor_format"),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_anchor_dates_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_anchor_dates")),
        sa.UniqueConstraint("client_id", "anchor", name=op.f("uq_client_anchor_dates_client_id_anchor")),
    )
    op.create_table(
        "client_identities",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("national_number", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_identities_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_identities")),
    )
    op.create_table(
        "timepoint_questionnaires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timepoint_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_key", sa.String(length=40), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_core", sa.Boolean(), server_default=sa.true(), nullable=False),
        key_format("questionnaire_key", "ck_timepoint_questionnaires_questionnaire_key_format"),
        sa.CheckConstraint("position >= 0", name=op.f("ck_timepoint_questionnaires_position_not_negative")),
        sa.CheckConstraint(
            "questionnaire_version IS NULL OR questionnaire_version >= 1",
            name=op.f("ck_timepoint_questionnaires_questionnaire_version_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["timepoint_id"],
            ["timepoints.id"],
            name=op.f("fk_timepoint_questionnaires_timepoint_id_timepoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timepoint_questionnaires")),
        sa.UniqueConstraint(
            "timepoint_id", "position", name=op.f("uq_timepoint_questionnaires_timepoint_id_position")
        ),
        sa.UniqueConstraint(
            "timepoint_id",
            "questionnaire_key",
            name=op.f("uq_timepoint_questionnaires_timepoint_id_questionnaire_key"),
        ),
    )
    op.create_index(
        op.f("ix_timepoint_questionnaires_timepoint_id"),
        "timepoint_questionnaires",
        ["timepoint_id"],
        unique=False,
    )

    op.create_table(
        "session_questionnaires",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_session_questionnaires_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_versions.id"],
            name=op.f("fk_session_questionnaires_questionnaire_version_id_questionnaire_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assessment_sessions.id"],
            name=op.f("fk_session_questionnaires_session_id_assessment_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "session_id", "questionnaire_version_id", name=op.f("pk_session_questionnaires")
        ),
        sa.UniqueConstraint(
            "session_id", "position", name=op.f("uq_session_questionnaires_session_id_position")
        ),
    )
    op.create_index(
        op.f("ix_session_questionnaires_questionnaire_version_id"),
        "session_questionnaires",
        ["questionnaire_version_id"],
        unique=False,
    )

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(idempotency_key) BETWEEN 16 AND 128", name=op.f("ck_submissions_idempotency_key_length")
        ),
        sa.CheckConstraint("length(payload_hash) = 64", name=op.f("ck_submissions_payload_hash_length")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assessment_sessions.id"],
            name=op.f("fk_submissions_session_id_assessment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_submissions_idempotency_key")),
        sa.UniqueConstraint("session_id", name=op.f("uq_submissions_session_id")),
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("value", JSON_VALUE, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(item_id) BETWEEN 1 AND 64", name=op.f("ck_answers_item_id_length")),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_versions.id"],
            name=op.f("fk_answers_questionnaire_version_id_questionnaire_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id", "questionnaire_version_id"],
            ["session_questionnaires.session_id", "session_questionnaires.questionnaire_version_id"],
            name=op.f("fk_answers_session_id_session_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assessment_sessions.id"],
            name=op.f("fk_answers_session_id_assessment_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint(
            "session_id",
            "questionnaire_version_id",
            "item_id",
            name=op.f("uq_answers_session_id_questionnaire_version_id_item_id"),
        ),
    )
    op.create_table(
        "score_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("severity IN ('urgent', 'attention')", name=op.f("ck_score_flags_severity_known")),
        sa.CheckConstraint(
            "acknowledged_by IS NULL OR acknowledged_at IS NOT NULL",
            name=op.f("ck_score_flags_acknowledged_by_needs_time"),
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["staff_users.id"], name=op.f("fk_score_flags_acknowledged_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_versions.id"],
            name=op.f("fk_score_flags_questionnaire_version_id_questionnaire_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id", "questionnaire_version_id"],
            ["session_questionnaires.session_id", "session_questionnaires.questionnaire_version_id"],
            name=op.f("fk_score_flags_session_id_session_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assessment_sessions.id"],
            name=op.f("fk_score_flags_session_id_assessment_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_flags")),
        sa.UniqueConstraint(
            "session_id",
            "questionnaire_version_id",
            "flag_id",
            name=op.f("uq_score_flags_session_id_questionnaire_version_id_flag_id"),
        ),
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=64), nullable=True),
        sa.Column("prorated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("missing_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("scorer_version", sa.String(length=40), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("band IS NULL OR value IS NOT NULL", name=op.f("ck_scores_band_needs_value")),
        sa.CheckConstraint("missing_count >= 0", name=op.f("ck_scores_missing_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_versions.id"],
            name=op.f("fk_scores_questionnaire_version_id_questionnaire_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id", "questionnaire_version_id"],
            ["session_questionnaires.session_id", "session_questionnaires.questionnaire_version_id"],
            name=op.f("fk_scores_session_id_session_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assessment_sessions.id"],
            name=op.f("fk_scores_session_id_assessment_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint(
            "session_id",
            "questionnaire_version_id",
            "scale_id",
            name=op.f("uq_scores_session_id_questionnaire_version_id_scale_id"),
        ),
    )
    for table in APPEND_ONLY_TABLES:
        for statement in _append_only_ddl(table):
            op.execute(statement)


def downgrade() -> None:
    for table in APPEND_ONLY_TABLES:
        for statement in _drop_append_only_ddl(table):
            op.execute(statement)
    op.drop_table("scores")
    op.drop_table("score_flags")
    op.drop_table("answers")
    op.drop_table("submissions")
    op.drop_table("session_questionnaires")
    op.drop_table("timepoint_questionnaires")
    op.drop_table("client_identities")
    op.drop_table("client_anchor_dates")
    op.drop_table("assessment_sessions")
    op.drop_table("timepoints")
    op.drop_table("staff_site_memberships")
    op.drop_table("staff_sessions")
    op.drop_table("questionnaire_versions")
    op.drop_table("clients")
    op.drop_table("staff_users")
    op.drop_table("sites")
    op.drop_table("programmes")
    op.drop_table("organisations")
    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS survey_refuse_change()")
