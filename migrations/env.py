"""Alembic environment, run through Flask-Migrate (``flask --app wsgi db ...``)."""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from flask import current_app

import survey_app.models  # noqa: F401  (registers every table on the metadata)
from survey_app.extensions import Base
from survey_app.models.base import UTCDateTime

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render app-specific column types as plain SQLAlchemy types, so revisions never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _engine() -> Any:
    return current_app.extensions["migrate"].db.engine


def run_migrations_offline() -> None:
    """Emit SQL for the migrations without a database connection (``flask db upgrade --sql``)."""
    url = _engine().url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations in one transaction (SQLite too: survey_app.db makes its DDL transactional)."""

    def process_revision_directives(_context: Any, _revision: Any, directives: list[Any]) -> None:
        # An autogenerate run that finds no change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("compare_type", True)
    for key in ("render_as_batch", "transactional_ddl", "render_item"):
        conf_args.pop(key, None)  # decided here, per dialect

    with _engine().connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if is_sqlite:
            _sqlite_foreign_keys(connection, on=False)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite,
            transactional_ddl=True,
            render_item=render_item,
            **conf_args,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if is_sqlite:
                    _refuse_broken_references(connection)
        finally:
            if is_sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Any, *, on: bool) -> None:
    """Turn SQLite's foreign-key enforcement off for the migrations, or on again after them.

    Batch mode rebuilds a table by copying it and dropping the old one. With enforcement on, that drop
    deletes the rows that refer to the table (ON DELETE CASCADE: answers, scores) or is refused. The pragma
    only takes effect outside a transaction, so it goes to the driver's connection before the migrations'
    BEGIN.
    """
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _refuse_broken_references(connection: Any) -> None:
    """Fail (and roll the migrations back) when a row refers to one that is not there."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"the migrations left rows that refer to missing rows in: {', '.join(tables)}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
