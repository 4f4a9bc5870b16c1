"""Sessions keep the site where they were taken; report batches record the clients they hold.

Revision ID: 0015
Revises: 0014

`assessment_sessions.site_id` is the client's site when the session started, so that research exports give
each session the site where it was taken, also after the client moved to another site. Existing sessions
get their client's site as it is now (the best that is known). `report_batches.client_ids` lists the clients
whose reports a batch's ZIP holds, so that a download can check its maker still sees each of them; batches
made before stay without a list (NULL), and their ZIP is no longer handed out. Frozen: it never imports the
app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    """Add the site of each session, filled from its client's current site, and the clients of a batch."""
    with op.batch_alter_table("assessment_sessions") as batch:
        batch.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE assessment_sessions SET site_id = "
        "(SELECT clients.site_id FROM clients WHERE clients.id = assessment_sessions.client_id)"
    )
    with op.batch_alter_table("assessment_sessions") as batch:
        batch.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(op.f("fk_assessment_sessions_site_id_sites"), "sites", ["site_id"], ["id"])
        batch.create_index(op.f("ix_assessment_sessions_site_id"), ["site_id"], unique=False)
    with op.batch_alter_table("report_batches") as batch:
        batch.add_column(sa.Column("client_ids", JSON_VALUE, nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("report_batches") as batch:
        batch.drop_column("client_ids")
    with op.batch_alter_table("assessment_sessions") as batch:
        batch.drop_index(op.f("ix_assessment_sessions_site_id"))
        batch.drop_constraint(op.f("fk_assessment_sessions_site_id_sites"), type_="foreignkey")
        batch.drop_column("site_id")
