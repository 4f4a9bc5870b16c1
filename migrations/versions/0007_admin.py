"""Administration: staff invitations, questionnaire drafts, and each site's languages and idle timeout.

Revision ID: 0007
Revises: 0006

One-time enrolment links (only their SHA-256 is kept) and uploaded questionnaire drafts awaiting publication;
sites gain the languages offered on their tablets (all three for existing sites) and an optional client-mode
idle timeout (empty: the app's default). Frozen: it never imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _key_format(column: str, name: str) -> sa.CheckConstraint:
    length = f"length({column}) BETWEEN 1 AND 40"
    if op.get_bind().dialect.name == "postgresql":
        return sa.CheckConstraint(f"{column} ~ '^[a-z][a-z0-9_]*$' AND {length}", name=op.f(name))
    return sa.CheckConstraint(
        f"{length} AND substr({column}, 1, 1) GLOB '[a-z]' AND {column} NOT GLOB '*[^a-z0-9_]*'",
        name=op.f(name),
    )


def _create_staff_invitations() -> None:
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(token_hash) = 64", name=op.f("ck_staff_invitations_token_hash_length")),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_staff_invitations_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_invitations_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_staff_invitations_created_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_invitations_token_hash")),
    )
    op.create_index(
        op.f("ix_staff_invitations_staff_user_id"), "staff_invitations", ["staff_user_id"], unique=False
    )


def _create_questionnaire_drafts() -> None:
    op.create_table(
        "questionnaire_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        _key_format("key", "ck_questionnaire_drafts_key_format"),
        sa.CheckConstraint("version >= 1", name=op.f("ck_questionnaire_drafts_version_positive")),
        sa.CheckConstraint(
            "length(content_hash) = 64", name=op.f("ck_questionnaire_drafts_content_hash_length")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_questionnaire_drafts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["staff_users.id"],
            name=op.f("fk_questionnaire_drafts_uploaded_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_drafts")),
    )
    op.create_index(
        op.f("ix_questionnaire_drafts_organisation_id"),
        "questionnaire_drafts",
        ["organisation_id"],
        unique=False,
    )


def upgrade() -> None:
    _create_staff_invitations()
    _create_questionnaire_drafts()
    op.add_column(
        "sites", sa.Column("languages", sa.String(length=20), server_default="en,nl,fr", nullable=False)
    )
    op.add_column("sites", sa.Column("client_idle_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("client_idle_minutes")
        batch.drop_column("languages")
    op.drop_index(op.f("ix_questionnaire_drafts_organisation_id"), table_name="questionnaire_drafts")
    op.drop_table("questionnaire_drafts")
    op.drop_index(op.f("ix_staff_invitations_staff_user_id"), table_name="staff_invitations")
    op.drop_table("staff_invitations")
