"""Each stored answer names the hand-over (one device's client mode) that gave it.

Revision ID: 0010
Revises: 0009

`answers.client_mode_session_id` is the client-mode session whose device gave the stored value, and
`answers.updated_at` becomes the moment that value was given (the device says how long ago; before, the
moment it arrived). An answer that waited on one device while the client answered the same question on
another is then not stored over the newer one. Answers stored before name no device. Frozen: it never
imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the device's hand-over to the answers."""
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("client_mode_session_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_answers_client_mode_session_id_client_mode_sessions",
            "client_mode_sessions",
            ["client_mode_session_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint("fk_answers_client_mode_session_id_client_mode_sessions", type_="foreignkey")
        batch.drop_column("client_mode_session_id")
