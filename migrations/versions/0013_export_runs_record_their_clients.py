"""Export runs record the clients their file holds, so that erasing a client removes only those packages.

Revision ID: 0013
Revises: 0012

`export_run_clients` lists the clients of a finished export; `export_runs.clients_recorded` says the list is
complete. Runs from before hold anyone of their organisation as far as anyone knows: they are filled with
false, and an erasure removes their packages as before. Frozen: it never imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the flag (false for every run so far) and the table of a run's clients."""
    with op.batch_alter_table("export_runs") as batch:
        batch.add_column(
            sa.Column("clients_recorded", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "export_run_clients",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_export_run_clients_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["export_runs.id"],
            name=op.f("fk_export_run_clients_run_id_export_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "client_id", name=op.f("pk_export_run_clients")),
    )
    op.create_index(
        op.f("ix_export_run_clients_client_id"), "export_run_clients", ["client_id"], unique=False
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index(op.f("ix_export_run_clients_client_id"), table_name="export_run_clients")
    op.drop_table("export_run_clients")
    with op.batch_alter_table("export_runs") as batch:
        batch.drop_column("clients_recorded")
