"""Each questionnaire key has an owner: an organisation, or none for a questionnaire shared by all.

Revision ID: 0012
Revises: 0011

`questionnaire_keys` records who owns each key: the organisation whose admin published its first version on
the admin pages, or nobody (NULL) for the questionnaires the deployer installs and publishes on the command
line, which every organisation shares. An organisation's admin publishes versions of its own keys and of new
keys only, and an organisation sees its own questionnaires and the shared ones.

Existing keys are filled from what the data says: the first version of a key (its lowest version number) that
names who published it (`published_by`, set only by the admin pages) makes the key that staff member's
organisation's; a first version published on the command line (`published_by` empty) or by an account that no
longer exists leaves the key shared. Later versions do not change the owner: a version another organisation
published of a key before this revision is kept (a published version never changes), and the audit trail
says who published it. Frozen: it never imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _key_format(column: str, name: str) -> sa.CheckConstraint:
    length = f"length({column}) BETWEEN 1 AND 40"
    if op.get_bind().dialect.name == "postgresql":
        return sa.CheckConstraint(f"{column} ~ '^[a-z][a-z0-9_]*$' AND {length}", name=op.f(name))
    return sa.CheckConstraint(
        f"{length} AND substr({column}, 1, 1) GLOB '[a-z]' AND {column} NOT GLOB '*[^a-z0-9_]*'",
        name=op.f(name),
    )


#: The owner of every stored key: the organisation of whoever published its first version, if anyone did.
FILL_OWNERS = """
INSERT INTO questionnaire_keys (key, organisation_id)
SELECT first.key, staff.organisation_id
FROM questionnaire_versions AS first
LEFT JOIN staff_users AS staff ON staff.id = first.published_by
WHERE first.version = (
    SELECT min(other.version) FROM questionnaire_versions AS other WHERE other.key = first.key
)
"""


def upgrade() -> None:
    """Add the owners of questionnaire keys, and fill them for the keys stored already."""
    op.create_table(
        "questionnaire_keys",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        _key_format("key", "ck_questionnaire_keys_key_format"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_questionnaire_keys_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_questionnaire_keys")),
    )
    op.create_index(
        op.f("ix_questionnaire_keys_organisation_id"), "questionnaire_keys", ["organisation_id"], unique=False
    )
    op.execute(FILL_OWNERS)


def downgrade() -> None:
    """Drop them again (every questionnaire is then shared, as before)."""
    op.drop_index(op.f("ix_questionnaire_keys_organisation_id"), table_name="questionnaire_keys")
    op.drop_table("questionnaire_keys")
