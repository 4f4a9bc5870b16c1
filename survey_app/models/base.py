"""Column types and constraint helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DDL, JSON, CheckConstraint, DateTime, Dialect, Table, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from survey_app.extensions import Base

__all__ = [
    "LANGUAGES",
    "Base",
    "JSONValue",
    "UTCDateTime",
    "append_only_ddl",
    "in_check",
    "key_format_checks",
    "make_append_only",
    "table_of",
    "utcnow",
]

#: Languages every form carries; the CHECK constraints on language columns use this list.
LANGUAGES = ("en", "nl", "fr")


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (also on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC (naive on SQLite, which keeps no offset)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given for a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def JSONValue() -> TypeEngine[Any]:
    """JSON on SQLite, JSONB on PostgreSQL; Python None is stored as SQL NULL, not JSON null."""
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def in_check(column: str, values: tuple[str, ...] | list[str], name: str) -> CheckConstraint:
    """A CHECK constraint ``column IN (values...)``."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def key_format_checks(column: str, name: str, max_length: int = 40) -> tuple[CheckConstraint, ...]:
    """CHECK that ``column`` is a key: a lower-case letter, then lower-case letters, digits and ``_``.

    SQLite has no regular expressions by default, so it uses GLOB; PostgreSQL uses ``~``.
    """
    length = f"length({column}) BETWEEN 1 AND {max_length}"
    sqlite = CheckConstraint(
        f"{length} AND substr({column}, 1, 1) GLOB '[a-z]' AND {column} NOT GLOB '*[^a-z0-9_]*'",
        name=name,
    ).ddl_if(dialect="sqlite")
    postgres = CheckConstraint(f"{column} ~ '^[a-z][a-z0-9_]*$' AND {length}", name=name).ddl_if(
        dialect="postgresql"
    )
    return (sqlite, postgres)


#: PostgreSQL trigger function shared by every append-only table (no '%' and no ':' on purpose, so
#: the text survives every driver's parameter style unchanged).
PG_REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION survey_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = TG_TABLE_NAME || ' is append-only; ' || TG_OP || ' refused',
        ERRCODE = 'restrict_violation';
END
$body$
"""


def append_only_ddl(table: str, dialect: str) -> list[str]:
    """The statements that make ``table`` refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only; {op} refused'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            PG_REFUSE_CHANGE_FUNCTION,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION survey_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION survey_refuse_change()",
        ]
    raise ValueError(f"unsupported dialect {dialect!r}")


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for bulk statements (executemany without ORM bookkeeping)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def make_append_only(table: Table) -> None:
    """Attach the append-only triggers to ``table`` for ``metadata.create_all`` (tests).

    The migrations carry their own frozen copy of the same statements.
    """
    for dialect in ("sqlite", "postgresql"):
        for statement in append_only_ddl(table.name, dialect):
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
