"""Research exports: export projects and their secrets.

Revision ID: 0004
Revises: 0003

Export projects (a random salt per project; the pseudonym secret itself is derived from a key kept outside the
database), the researchers of each project, and export runs (what was asked, progress, checksum of the file).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _create_export_projects() -> None:
    op.create_table(
        "export_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("secret_salt", sa.String(length=64), nullable=False),
        sa.Column("allow_identifiers", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("allow_free_text", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("allow_calendar_dates", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("allowances_changed_by", sa.Integer(), nullable=True),
        sa.Column("allowances_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name=op.f("ck_export_projects_name_length")),
        sa.CheckConstraint("length(secret_salt) = 64", name=op.f("ck_export_projects_secret_salt_length")),
        sa.ForeignKeyConstraint(
            ["allowances_changed_by"],
            ["staff_users.id"],
            name=op.f("fk_export_projects_allowances_changed_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_export_projects_created_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_export_projects_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_projects")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_export_projects_organisation_id_name")),
    )
    op.create_index(
        op.f("ix_export_projects_organisation_id"), "export_projects", ["organisation_id"], unique=False
    )


def _create_export_project_members() -> None:
    op.create_table(
        "export_project_members",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["staff_users.id"],
            name=op.f("fk_export_project_members_added_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["export_projects.id"],
            name=op.f("fk_export_project_members_project_id_export_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_export_project_members_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "staff_user_id", name=op.f("pk_export_project_members")),
    )
    op.create_index(
        op.f("ix_export_project_members_staff_user_id"),
        "export_project_members",
        ["staff_user_id"],
        unique=False,
    )


def _create_export_runs() -> None:
    op.create_table(
        "export_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("layout", sa.String(length=10), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("options", JSON_VALUE, nullable=False),
        sa.Column("status", sa.String(length=10), server_default="running", nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_written", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("layout IN ('long', 'scores', 'wide')", name=op.f("ck_export_runs_layout_known")),
        sa.CheckConstraint(
            "format IN ('csv', 'sav', 'dta', 'parquet', 'fhir')", name=op.f("ck_export_runs_format_known")
        ),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_export_runs_status_known")
        ),
        sa.CheckConstraint("via IN ('web', 'cli')", name=op.f("ck_export_runs_via_known")),
        sa.CheckConstraint("length(public_id) = 36", name=op.f("ck_export_runs_public_id_length")),
        sa.CheckConstraint("rows_written >= 0", name=op.f("ck_export_runs_rows_written_not_negative")),
        sa.CheckConstraint(
            "sha256 IS NULL OR length(sha256) = 64", name=op.f("ck_export_runs_sha256_length")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["export_projects.id"], name=op.f("fk_export_runs_project_id_export_projects")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["staff_users.id"],
            name=op.f("fk_export_runs_requested_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_runs")),
        sa.UniqueConstraint("public_id", name=op.f("uq_export_runs_public_id")),
    )
    op.create_index(op.f("ix_export_runs_project_id"), "export_runs", ["project_id"], unique=False)


def upgrade() -> None:
    """Apply this revision."""
    _create_export_projects()
    _create_export_project_members()
    _create_export_runs()


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_export_runs_project_id"), table_name="export_runs")
    op.drop_table("export_runs")
    op.drop_index(op.f("ix_export_project_members_staff_user_id"), table_name="export_project_members")
    op.drop_table("export_project_members")
    op.drop_index(op.f("ix_export_projects_organisation_id"), table_name="export_projects")
    op.drop_table("export_projects")
