"""Wrong tablet passwords are counted on the device; programme names and timepoint labels in every language.

Revision ID: 0014
Revises: 0013

`client_mode_sessions.failed_password_count` counts the wrong counsellor's passwords typed on that device
since the right one, and `password_retry_at` is when it takes a password again. A client can thus no longer
lock their counsellor out of the whole app from the tablet. Existing sessions start with no wrong tries.

`programmes.name_texts`, `programmes.description_texts` and `timepoints.label_texts` hold the texts in
English, Dutch and French (the `name`, `description` and `label` columns stay the English ones). Existing
rows get their stored English text; the bundled Drug Treatment Court, where its English texts are still the
bundled ones, gets its Dutch and French texts too (copied here as they were shipped). Frozen: it never
imports the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
NO_TEXTS = "{}"  # a constant default: SQLite adds the column in place, without copying the table

#: The bundled programme's texts as shipped.
BUNDLED_KEY = "drug_treatment_court"
BUNDLED_NAME = {
    "en": "Drug Treatment Court",
    "nl": "Drugbehandelingskamer",
    "fr": "Chambre de traitement de la toxicomanie",
}
BUNDLED_DESCRIPTION = {
    "en": (
        "People who offend because of drug use are referred to treatment instead of punishment, for 6 to 8 "
        "months. Client-reported outcomes are collected at intake, after 3 months, at the end of the programme "
        "(6 months) and at 12 months."
    ),
    "nl": (
        "Mensen die door druggebruik in aanraking komen met justitie, worden doorverwezen naar behandeling in "
        "plaats van bestraft, gedurende 6 tot 8 maanden. Cliëntgerapporteerde uitkomsten worden verzameld bij "
        "de intake, na 3 maanden, op het einde van het programma (6 maanden) en na 12 maanden."
    ),
    "fr": (
        "Les personnes qui commettent des infractions liées à leur consommation de drogues sont orientées vers "
        "un traitement plutôt que vers une peine, pendant 6 à 8 mois. Les résultats rapportés par les clients "
        "sont recueillis à l'admission, après 3 mois, à la fin du programme (6 mois) et après 12 mois."
    ),
}
BUNDLED_LABELS = {
    "t0": {"en": "Intake", "nl": "Intake", "fr": "Admission"},
    "t3m": {"en": "3 months", "nl": "3 maanden", "fr": "3 mois"},
    "t6m": {
        "en": "6 months (end of programme)",
        "nl": "6 maanden (einde programma)",
        "fr": "6 mois (fin du programme)",
    },
    "t12m": {"en": "12 months", "nl": "12 maanden", "fr": "12 mois"},
}


def upgrade() -> None:
    """Add the device's count of wrong passwords and its wait, and the texts in every language."""
    with op.batch_alter_table("client_mode_sessions") as batch:
        batch.add_column(sa.Column("failed_password_count", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("password_retry_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("programmes") as batch:
        batch.add_column(sa.Column("name_texts", JSON_VALUE, server_default=NO_TEXTS, nullable=False))
        batch.add_column(sa.Column("description_texts", JSON_VALUE, server_default=NO_TEXTS, nullable=False))
    with op.batch_alter_table("timepoints") as batch:
        batch.add_column(sa.Column("label_texts", JSON_VALUE, server_default=NO_TEXTS, nullable=False))
    _fill_texts()


def _fill_texts() -> None:
    """Every existing programme and timepoint gets its stored English text (and the bundled translations)."""
    connection = op.get_bind()
    programmes = sa.table(
        "programmes",
        sa.column("id", sa.Integer()),
        sa.column("key", sa.String()),
        sa.column("name", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("name_texts", JSON_VALUE),
        sa.column("description_texts", JSON_VALUE),
    )
    timepoints = sa.table(
        "timepoints",
        sa.column("id", sa.Integer()),
        sa.column("programme_id", sa.Integer()),
        sa.column("key", sa.String()),
        sa.column("label", sa.String()),
        sa.column("label_texts", JSON_VALUE),
    )
    bundled: set[int] = set()
    stored = sa.select(programmes.c.id, programmes.c.key, programmes.c.name, programmes.c.description)
    for row in connection.execute(stored).all():
        names, descriptions = {"en": row.name}, {"en": row.description or ""}
        if row.key == BUNDLED_KEY and row.name == BUNDLED_NAME["en"]:
            names = dict(BUNDLED_NAME)
            bundled.add(row.id)
            if row.description == BUNDLED_DESCRIPTION["en"]:
                descriptions = dict(BUNDLED_DESCRIPTION)
        connection.execute(
            programmes.update()
            .where(programmes.c.id == row.id)
            .values(name_texts=names, description_texts=descriptions)
        )
    labelled = sa.select(timepoints.c.id, timepoints.c.programme_id, timepoints.c.key, timepoints.c.label)
    for row in connection.execute(labelled).all():
        shipped = BUNDLED_LABELS.get(row.key) if row.programme_id in bundled else None
        labels = dict(shipped) if shipped and shipped["en"] == row.label else {"en": row.label}
        connection.execute(timepoints.update().where(timepoints.c.id == row.id).values(label_texts=labels))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("timepoints") as batch:
        batch.drop_column("label_texts")
    with op.batch_alter_table("programmes") as batch:
        batch.drop_column("description_texts")
        batch.drop_column("name_texts")
    with op.batch_alter_table("client_mode_sessions") as batch:
        batch.drop_column("password_retry_at")
        batch.drop_column("failed_password_count")
