"""Counsellor workspace: schedules, notes and risk alerts.

Session notes, alert acknowledgements with their note, the organisation's alert routing (site leads and named
recipients), the history of client status and anchor-date changes, and two indexes the workspace's queries
need on existing tables (a client's sessions by submission time; unacknowledged flags). Frozen: it never
imports the app.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _key_format(column: str, name: str) -> sa.CheckConstraint:
    """CHECK: a lower-case letter, then lower-case letters, digits and _ (1-40 characters)."""
    length = f"length({column}) BETWEEN 1 AND 40"
    if op.get_bind().dialect.name == "postgresql":
        sql = f"{column} ~ '^[a-z][a-z0-9_]*$' AND {length}"
    else:
        sql = f"{length} AND substr({column}, 1, 1) GLOB '[a-z]' AND {column} NOT GLOB '*[^a-z0-9_]*'"
    return sa.CheckConstraint(sql, name=op.f(name))


def _staff_fk(table: str, column: str, ondelete: str | None = "SET NULL") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["staff_users.id"], name=op.f(f"fk_{table}_{column}_staff_users"), ondelete=ondelete
    )


def upgrade() -> None:
    """Create the workspace tables and indexes."""
    op.create_table(
        "session_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(body) BETWEEN 1 AND 4000", name=op.f("ck_session_notes_body_length")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assessment_sessions.id"],
            name=op.f("fk_session_notes_session_id_assessment_sessions"),
            ondelete="CASCADE",
        ),
        _staff_fk("session_notes", "author_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_notes")),
    )
    op.create_index(op.f("ix_session_notes_session_id"), "session_notes", ["session_id"], unique=False)

    op.create_table(
        "alert_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "length(note) BETWEEN 1 AND 4000", name=op.f("ck_alert_acknowledgements_note_length")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["score_flags.id"],
            name=op.f("fk_alert_acknowledgements_flag_id_score_flags"),
            ondelete="CASCADE",
        ),
        _staff_fk("alert_acknowledgements", "acknowledged_by", ondelete=None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_acknowledgements")),
        sa.UniqueConstraint("flag_id", name=op.f("uq_alert_acknowledgements_flag_id")),
    )

    op.create_table(
        "alert_settings",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("site_leads", sa.String(length=10), server_default="urgent", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "site_leads IN ('none', 'urgent', 'all')", name=op.f("ck_alert_settings_site_leads_known")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_alert_settings_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        _staff_fk("alert_settings", "updated_by"),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_alert_settings")),
    )

    op.create_table(
        "alert_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("severities", sa.String(length=10), server_default="urgent", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "severities IN ('urgent', 'all')", name=op.f("ck_alert_recipients_severities_known")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_alert_recipients_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        _staff_fk("alert_recipients", "staff_user_id", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_alert_recipients_site_id_sites"), ondelete="CASCADE"
        ),
        _staff_fk("alert_recipients", "created_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_recipients")),
        sa.UniqueConstraint(
            "organisation_id",
            "staff_user_id",
            "site_id",
            name=op.f("uq_alert_recipients_organisation_id_staff_user_id_site_id"),
        ),
    )
    op.create_index(
        op.f("ix_alert_recipients_organisation_id"), "alert_recipients", ["organisation_id"], unique=False
    )
    op.create_index(
        op.f("ix_alert_recipients_staff_user_id"), "alert_recipients", ["staff_user_id"], unique=False
    )

    op.create_table(
        "client_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "from_status IN ('active', 'paused', 'withdrawn', 'completed')",
            name=op.f("ck_client_status_changes_from_status_known"),
        ),
        sa.CheckConstraint(
            "to_status IN ('active', 'paused', 'withdrawn', 'completed')",
            name=op.f("ck_client_status_changes_to_status_known"),
        ),
        sa.CheckConstraint("from_status != to_status", name=op.f("ck_client_status_changes_status_changes")),
        sa.CheckConstraint(
            "reason IS NULL OR length(reason) <= 4000", name=op.f("ck_client_status_changes_reason_length")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_status_changes_client_id_clients"),
            ondelete="CASCADE",
        ),
        _staff_fk("client_status_changes", "changed_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_status_changes")),
    )
    op.create_index(
        op.f("ix_client_status_changes_client_id"), "client_status_changes", ["client_id"], unique=False
    )

    op.create_table(
        "client_anchor_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.String(length=40), nullable=False),
        sa.Column("previous_date", sa.Date(), nullable=True),
        sa.Column("new_date", sa.Date(), nullable=True),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        _key_format("anchor", "ck_client_anchor_changes_anchor_format"),
        sa.CheckConstraint(
            "previous_date IS NOT NULL OR new_date IS NOT NULL",
            name=op.f("ck_client_anchor_changes_something_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_anchor_changes_client_id_clients"),
            ondelete="CASCADE",
        ),
        _staff_fk("client_anchor_changes", "changed_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_anchor_changes")),
    )
    op.create_index(
        op.f("ix_client_anchor_changes_client_id"), "client_anchor_changes", ["client_id"], unique=False
    )

    op.create_index(
        "ix_assessment_sessions_client_id_submitted_at",
        "assessment_sessions",
        ["client_id", "submitted_at"],
        unique=False,
    )
    op.create_index(
        "ix_score_flags_unacknowledged",
        "score_flags",
        ["session_id"],
        unique=False,
        sqlite_where=sa.text("acknowledged_at IS NULL"),
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )


def downgrade() -> None:
    """Drop the workspace tables and indexes."""
    op.drop_index("ix_score_flags_unacknowledged", table_name="score_flags")
    op.drop_index("ix_assessment_sessions_client_id_submitted_at", table_name="assessment_sessions")
    op.drop_index(op.f("ix_client_anchor_changes_client_id"), table_name="client_anchor_changes")
    op.drop_table("client_anchor_changes")
    op.drop_index(op.f("ix_client_status_changes_client_id"), table_name="client_status_changes")
    op.drop_table("client_status_changes")
    op.drop_index(op.f("ix_alert_recipients_staff_user_id"), table_name="alert_recipients")
    op.drop_index(op.f("ix_alert_recipients_organisation_id"), table_name="alert_recipients")
    op.drop_table("alert_recipients")
    op.drop_table("alert_settings")
    op.drop_table("alert_acknowledgements")
    op.drop_index(op.f("ix_session_notes_session_id"), table_name="session_notes")
    op.drop_table("session_notes")
