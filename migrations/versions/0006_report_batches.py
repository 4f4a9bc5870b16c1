"""PDF reports: report settings per organisation and report batches.

Revision ID: 0006
Revises: 0005

Report settings (full names on reports, off by default) and report batches (the filter, the progress every
worker can read, and the ZIP file produced). Frozen: it never imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _create_report_settings() -> None:
    op.create_table(
        "report_settings",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("show_names", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_report_settings_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["staff_users.id"],
            name=op.f("fk_report_settings_updated_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_report_settings")),
    )


def _create_report_batches() -> None:
    op.create_table(
        "report_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("filters", JSON_VALUE, nullable=False),
        sa.Column("status", sa.String(length=10), server_default="running", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('counsellor', 'client', 'record')", name=op.f("ck_report_batches_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_report_batches_status_known")
        ),
        sa.CheckConstraint(
            "language IS NULL OR language IN ('en', 'nl', 'fr')",
            name=op.f("ck_report_batches_language_known"),
        ),
        sa.CheckConstraint("length(public_id) = 36", name=op.f("ck_report_batches_public_id_length")),
        sa.CheckConstraint(
            "total >= 0 AND done >= 0 AND failed >= 0", name=op.f("ck_report_batches_counts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_report_batches_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["staff_users.id"],
            name=op.f("fk_report_batches_requested_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_batches")),
        sa.UniqueConstraint("public_id", name=op.f("uq_report_batches_public_id")),
    )
    op.create_index(
        op.f("ix_report_batches_organisation_id"), "report_batches", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_report_batches_requested_by"), "report_batches", ["requested_by"], unique=False)


def upgrade() -> None:
    """Apply this revision."""
    _create_report_settings()
    _create_report_batches()


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_report_batches_requested_by"), table_name="report_batches")
    op.drop_index(op.f("ix_report_batches_organisation_id"), table_name="report_batches")
    op.drop_table("report_batches")
    op.drop_table("report_settings")
