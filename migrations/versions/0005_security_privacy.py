"""Security and privacy: multi-factor sign-in, consent, court sharing, retention and erasure.

TOTP enrolment state and recovery codes per staff member; consent decisions per client and purpose
(append-only); disclosures to the court; per-organisation retention and research legal basis; erasure
records. Open sign-in sessions are ended, so everyone signs in again with a second factor. Frozen: it
never imports the app.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

PG_REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION survey_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = TG_TABLE_NAME || ' is append-only; ' || TG_OP || ' refused',
        ERRCODE = 'restrict_violation';
END
$body$
"""


def _dialect() -> str:
    return op.get_bind().dialect.name


def _append_only_ddl(table: str) -> list[str]:
    if _dialect() == "postgresql":
        return [
            PG_REFUSE_CHANGE_FUNCTION,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION survey_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION survey_refuse_change()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_{name.lower()} BEFORE {name} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only; {name} refused'); END"
        for name in ("UPDATE", "DELETE")
    ]


def _drop_append_only_ddl(table: str) -> list[str]:
    if _dialect() == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_no_{name}" for name in ("update", "delete")]


def _staff_fk(table: str, column: str, ondelete: str | None = "SET NULL") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["staff_users.id"], name=op.f(f"fk_{table}_{column}_staff_users"), ondelete=ondelete
    )


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f(f"fk_{table}_client_id_clients"))


def _create_mfa_tables() -> None:
    op.create_table(
        "staff_mfa",
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_totp_step", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("last_totp_step >= 0", name=op.f("ck_staff_mfa_last_totp_step_not_negative")),
        _staff_fk("staff_mfa", "staff_user_id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_user_id", name=op.f("pk_staff_mfa")),
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(code_hash) = 64", name=op.f("ck_staff_recovery_codes_code_hash_length")),
        _staff_fk("staff_recovery_codes", "staff_user_id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_staff_recovery_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_staff_recovery_codes_staff_user_id"), "staff_recovery_codes", ["staff_user_id"], unique=False
    )


def _create_consent_tables() -> None:
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("share_scores", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("share_summary", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("text_version", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('care', 'court', 'research')", name=op.f("ck_consent_records_purpose_known")
        ),
        sa.CheckConstraint(
            "purpose = 'court' OR (NOT share_scores AND NOT share_summary)",
            name=op.f("ck_consent_records_court_scope_only_for_court"),
        ),
        sa.CheckConstraint(
            "granted OR (NOT share_scores AND NOT share_summary)",
            name=op.f("ck_consent_records_scope_needs_consent"),
        ),
        sa.CheckConstraint(
            "length(text_version) BETWEEN 1 AND 20", name=op.f("ck_consent_records_text_version_length")
        ),
        _client_fk("consent_records"),
        _staff_fk("consent_records", "recorded_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(op.f("ix_consent_records_client_id"), "consent_records", ["client_id"], unique=False)
    op.create_table(
        "court_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("shared_with", sa.Integer(), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("categories", JSON_VALUE, nullable=False),
        sa.Column("consent_record_id", sa.Integer(), nullable=False),
        _client_fk("court_shares"),
        _staff_fk("court_shares", "shared_with"),
        sa.ForeignKeyConstraint(
            ["consent_record_id"],
            ["consent_records.id"],
            name=op.f("fk_court_shares_consent_record_id_consent_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_shares")),
    )
    op.create_index(op.f("ix_court_shares_client_id"), "court_shares", ["client_id"], unique=False)


def _create_privacy_tables() -> None:
    op.create_table(
        "privacy_settings",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("retention_months", sa.Integer(), nullable=True),
        sa.Column("research_legal_basis", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "retention_months IS NULL OR retention_months >= 1",
            name=op.f("ck_privacy_settings_retention_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_privacy_settings_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        _staff_fk("privacy_settings", "updated_by"),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_privacy_settings")),
    )
    op.create_table(
        "client_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("research_data_kept", sa.Boolean(), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "reason IN ('request', 'retention')", name=op.f("ck_client_erasures_reason_known")
        ),
        _client_fk("client_erasures"),
        _staff_fk("client_erasures", "erased_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_erasures")),
        sa.UniqueConstraint("client_id", name=op.f("uq_client_erasures_client_id")),
    )


def upgrade() -> None:
    """Create the security and privacy tables; end open sign-in sessions (sign in again with TOTP)."""
    _create_mfa_tables()
    _create_consent_tables()
    _create_privacy_tables()
    for statement in _append_only_ddl("consent_records"):
        op.execute(statement)
    op.execute("UPDATE staff_sessions SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL")


def downgrade() -> None:
    """Drop the security and privacy tables (the consent history goes with them)."""
    for statement in _drop_append_only_ddl("consent_records"):
        op.execute(statement)
    op.drop_table("client_erasures")
    op.drop_table("privacy_settings")
    op.drop_index(op.f("ix_court_shares_client_id"), table_name="court_shares")
    op.drop_table("court_shares")
    op.drop_index(op.f("ix_consent_records_client_id"), table_name="consent_records")
    op.drop_table("consent_records")
    op.drop_index(op.f("ix_staff_recovery_codes_staff_user_id"), table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_table("staff_mfa")
