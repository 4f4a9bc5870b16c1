"""Each stored answer names the hand-over (one device's client mode) that gave it; clearings are kept.

Revision ID: 0010
Revises: 0009

`answers.client_mode_session_id` is the client-mode session whose device gave the stored value, and
`answers.updated_at` becomes the moment that value was given (the device says how long ago; before, the
moment it arrived). An answer that waited on one device while the client answered the same question on
another is then not stored over the newer one. `answer_clears` keeps when (and on which device) an answer
was taken back, so that such an answer given before is not stored again either. Answers stored before name
no device. Frozen: it never imports the app.
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
    """Add the device's hand-over to the answers, and the table of answers taken back."""
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("client_mode_session_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_answers_client_mode_session_id_client_mode_sessions",
            "client_mode_sessions",
            ["client_mode_session_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "answer_clears",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_mode_session_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_mode_session_id"],
            ["client_mode_sessions.id"],
            name=op.f("fk_answer_clears_client_mode_session_id_client_mode_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_versions.id"],
            name=op.f("fk_answer_clears_questionnaire_version_id_questionnaire_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id", "questionnaire_version_id"],
            ["session_questionnaires.session_id", "session_questionnaires.questionnaire_version_id"],
            name=op.f("fk_answer_clears_session_id_session_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assessment_sessions.id"],
            name=op.f("fk_answer_clears_session_id_assessment_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_clears")),
        sa.UniqueConstraint(
            "session_id",
            "questionnaire_version_id",
            "item_id",
            name=op.f("uq_answer_clears_session_id_questionnaire_version_id_item_id"),
        ),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("answer_clears")
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint("fk_answers_client_mode_session_id_client_mode_sessions", type_="foreignkey")
        batch.drop_column("client_mode_session_id")
