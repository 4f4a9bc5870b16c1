"""Client tablet: client-mode sessions, one-time codes and links, failed code attempts.

Client-mode sessions keep the SHA-256 of the browser's token and lock or end on the server; one-time codes and
links are stored as keyed hashes; failed code attempts are counted per address so the limit holds across
workers. Frozen: it never imports the app.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _staff_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["staff_users.id"], name=op.f(f"fk_{table}_{column}_staff_users"), ondelete="SET NULL"
    )


def _session_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["assessment_session_id"],
        ["assessment_sessions.id"],
        name=op.f(f"fk_{table}_assessment_session_id_assessment_sessions"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create the client access tables."""
    op.create_table(
        "client_mode_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("assessment_session_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("staff_session_id", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("return_path", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.CheckConstraint("via IN ('tablet', 'code')", name=op.f("ck_client_mode_sessions_via_known")),
        sa.CheckConstraint(
            "end_reason IN ('left', 'expired', 'closed', 'submitted', 'replaced')",
            name=op.f("ck_client_mode_sessions_end_reason_known"),
        ),
        sa.CheckConstraint("length(token_hash) = 64", name=op.f("ck_client_mode_sessions_token_hash_length")),
        sa.CheckConstraint(
            "(ended_at IS NULL) = (end_reason IS NULL)",
            name=op.f("ck_client_mode_sessions_ended_with_reason"),
        ),
        _session_fk("client_mode_sessions"),
        _staff_fk("client_mode_sessions", "started_by"),
        sa.ForeignKeyConstraint(
            ["staff_session_id"],
            ["staff_sessions.id"],
            name=op.f("fk_client_mode_sessions_staff_session_id_staff_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_mode_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_client_mode_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_client_mode_sessions_assessment_session_id"),
        "client_mode_sessions",
        ["assessment_session_id"],
        unique=False,
    )

    op.create_table(
        "client_access_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_session_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(code_hash) = 64", name=op.f("ck_client_access_codes_code_hash_length")),
        sa.CheckConstraint("length(link_hash) = 64", name=op.f("ck_client_access_codes_link_hash_length")),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_client_access_codes_expires_after_creation")
        ),
        _session_fk("client_access_codes"),
        _staff_fk("client_access_codes", "created_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_access_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_client_access_codes_code_hash")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_client_access_codes_link_hash")),
    )
    op.create_index(
        op.f("ix_client_access_codes_assessment_session_id"),
        "client_access_codes",
        ["assessment_session_id"],
        unique=False,
    )

    op.create_table(
        "client_code_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_code_attempts")),
    )
    op.create_index(
        "ix_client_code_attempts_ip_attempted_at",
        "client_code_attempts",
        ["ip", "attempted_at"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the client access tables."""
    op.drop_index("ix_client_code_attempts_ip_attempted_at", table_name="client_code_attempts")
    op.drop_table("client_code_attempts")
    op.drop_index(op.f("ix_client_access_codes_assessment_session_id"), table_name="client_access_codes")
    op.drop_table("client_access_codes")
    op.drop_index(op.f("ix_client_mode_sessions_assessment_session_id"), table_name="client_mode_sessions")
    op.drop_table("client_mode_sessions")
