"""Wrong passwords typed on a tablet are counted on its client-mode session, not on the counsellor's account.

Revision ID: 0014
Revises: 0013

`client_mode_sessions.failed_password_count` counts the wrong counsellor's passwords typed on that device
since the right one, and `password_retry_at` is when it takes a password again. A client can thus no longer
lock their counsellor out of the whole app from the tablet. Existing sessions start with no wrong tries.
Frozen: it never imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the device's count of wrong passwords and its wait."""
    with op.batch_alter_table("client_mode_sessions") as batch:
        batch.add_column(sa.Column("failed_password_count", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("password_retry_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("client_mode_sessions") as batch:
        batch.drop_column("password_retry_at")
        batch.drop_column("failed_password_count")
