"""Failed code attempts name the browser too: clients behind one router no longer lock each other out.

Revision ID: 0009
Revises: 0008

`client_code_attempts.device` holds the random mark the code page leaves in the browser's session cookie;
the lockout counts per browser, with a higher ceiling per address. Attempts recorded before have none and
count only towards their address. Frozen: it never imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the browser's mark to the failed attempts."""
    with op.batch_alter_table("client_code_attempts") as batch:
        batch.add_column(sa.Column("device", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("client_code_attempts") as batch:
        batch.drop_column("device")
