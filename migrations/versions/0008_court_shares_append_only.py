"""Court disclosures are append-only: what the court was shown can be added to, never rewritten.

Revision ID: 0008
Revises: 0007

The client sees every disclosure of their progress to the court (`court_shares`); like the consent
history, the database now refuses UPDATE and DELETE on it (and TRUNCATE on PostgreSQL). Frozen: it never
imports the app.
"""

from __future__ import annotations

from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "court_shares"
PG_REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION survey_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = TG_TABLE_NAME || ' is append-only; ' || TG_OP || ' refused',
        ERRCODE = 'restrict_violation';
END
$body$
"""


def upgrade() -> None:
    """Add the append-only triggers to court_shares."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_REFUSE_CHANGE_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION survey_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION survey_refuse_change()"
        )
        return
    for name in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{name.lower()} BEFORE {name} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only; {name} refused'); END"
        )


def downgrade() -> None:
    """Drop them again."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
        return
    for name in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{name}")
