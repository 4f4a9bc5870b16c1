"""Sessions keep the schedule they were due on; a hand-over ends when its client moves to another site.

Revision ID: 0011
Revises: 0010

`assessment_sessions.due_anchor`, `due_offset_days`, `due_window_before_days` and `due_window_after_days` hold
the timepoint's anchor, offset and window when the session started, so that an admin's later change of the
timepoint moves only the timepoints still without a session. Existing sessions at a timepoint get the
timepoint as it is defined now (the best that is known). `client_mode_sessions.end_reason` may be `moved`:
the client moved to another site, which ends the hand-overs on the old site's tablets. Frozen: it never
imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_DUE_COLUMNS = ("due_anchor", "due_offset_days", "due_window_before_days", "due_window_after_days")
_DUE_WHOLE = (
    "(due_anchor IS NULL) = (due_offset_days IS NULL)"
    " AND (due_anchor IS NULL) = (due_window_before_days IS NULL)"
    " AND (due_anchor IS NULL) = (due_window_after_days IS NULL)"
    " AND (due_anchor IS NULL OR timepoint_id IS NOT NULL)"
)
_END_REASONS_BEFORE = "end_reason IN ('left', 'expired', 'closed', 'submitted', 'replaced')"
_END_REASONS = "end_reason IN ('left', 'expired', 'closed', 'submitted', 'replaced', 'moved')"


def upgrade() -> None:
    """Add the schedule a session was due on, fill it from the timepoints, and allow the `moved` end."""
    with op.batch_alter_table("assessment_sessions") as batch:
        batch.add_column(sa.Column("due_anchor", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("due_offset_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("due_window_before_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("due_window_after_days", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE assessment_sessions SET "
        + ", ".join(
            f"{column} = (SELECT timepoints.{column.removeprefix('due_')} FROM timepoints "
            "WHERE timepoints.id = assessment_sessions.timepoint_id)"
            for column in _DUE_COLUMNS
        )
        + " WHERE timepoint_id IS NOT NULL"
    )
    with op.batch_alter_table("assessment_sessions") as batch:
        batch.create_check_constraint(op.f("ck_assessment_sessions_due_schedule_whole"), _DUE_WHOLE)
    with op.batch_alter_table("client_mode_sessions") as batch:
        batch.drop_constraint(op.f("ck_client_mode_sessions_end_reason_known"), type_="check")
        batch.create_check_constraint(op.f("ck_client_mode_sessions_end_reason_known"), _END_REASONS)


def downgrade() -> None:
    """Drop them again (client-mode sessions ended by a move count as closed)."""
    op.execute("UPDATE client_mode_sessions SET end_reason = 'closed' WHERE end_reason = 'moved'")
    with op.batch_alter_table("client_mode_sessions") as batch:
        batch.drop_constraint(op.f("ck_client_mode_sessions_end_reason_known"), type_="check")
        batch.create_check_constraint(op.f("ck_client_mode_sessions_end_reason_known"), _END_REASONS_BEFORE)
    with op.batch_alter_table("assessment_sessions") as batch:
        batch.drop_constraint(op.f("ck_assessment_sessions_due_schedule_whole"), type_="check")
        for column in reversed(_DUE_COLUMNS):
            batch.drop_column(column)
