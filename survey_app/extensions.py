"""Flask extensions, created unbound; ``create_app`` binds them to an app.

Flask-Migrate (and with it Alembic, Mako and Pygments, some 11 MB) is imported only when migrations run:
``flask db ...`` binds it on the way in, and code that calls its functions calls `bind_migrations` first.
Every other process (web workers, exports, reports) never loads it.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: Stable constraint names, so Alembic migrations name (and later drop) them predictably.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model; carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Every engine (the default one and any bind) hides bound values from its errors, whatever the config
#: passes: an IntegrityError would otherwise log a client's answers or name.
db = SQLAlchemy(model_class=Base, engine_options={"hide_parameters": True})
csrf = CSRFProtect()
login_manager = LoginManager()


def register_extensions(app: Flask) -> None:
    """Bind the extensions to ``app``: database (with the SQLite hooks), migrations, CSRF, sign-in."""
    from survey_app.db import configure_engine

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine)
    app.cli.add_command(MigrationCommands("db"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Please sign in."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


def bind_migrations(app: Flask) -> None:
    """Bind Flask-Migrate to `app` (once), so its functions and ``flask db`` commands can run."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=app.config["MIGRATIONS_DIR"], compare_type=True)


class MigrationCommands(click.Group):
    """``flask db``: Flask-Migrate's command group, imported and bound to the app only when it is used."""

    def __init__(self, name: str) -> None:
        super().__init__(name, help="Perform database migrations (Flask-Migrate).")

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        """Hand the command line to Flask-Migrate's own group, after binding it to the app."""
        from flask.cli import ScriptInfo
        from flask_migrate.cli import db as commands

        script_info = parent.ensure_object(ScriptInfo) if parent is not None else ScriptInfo()
        bind_migrations(script_info.load_app())
        context: click.Context = commands.make_context(info_name, args, parent=parent, **extra)
        return context
