"""Flask CLI commands (``flask --app wsgi ...``) and the one-line error handler for them."""

from __future__ import annotations

import os
import sys
from types import TracebackType

from flask import Flask
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError, ProgrammingError

from config import ConfigError
from survey_app.db import database_error_reason, describe_database_url

#: Exit status of a configuration or database error (also gunicorn's "App failed to load" status,
#: so gunicorn stops instead of restarting workers that can never start).
CONFIG_ERROR_EXIT = 4
TRACEBACK_ENV = "SURVEY_TRACEBACK"


def register_cli(app: Flask) -> None:
    """Add the command groups: users, questionnaires, demo, export, audit, gdpr, retention, report."""
    from survey_app.cli.audit import audit_cli
    from survey_app.cli.demo import demo_cli
    from survey_app.cli.export import export_command
    from survey_app.cli.gdpr import gdpr_cli
    from survey_app.cli.questionnaires import questionnaires_cli
    from survey_app.cli.report import report_cli
    from survey_app.cli.retention import retention_cli
    from survey_app.cli.users import users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(questionnaires_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(export_command)
    app.cli.add_command(audit_cli)
    app.cli.add_command(gdpr_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(report_cli)


def fail(message: str) -> None:
    """Print ``survey-app: <message>`` on stderr as one line and exit with CONFIG_ERROR_EXIT."""
    sys.stderr.write(f"survey-app: {' '.join(message.split())}\n")
    sys.stderr.flush()
    raise SystemExit(CONFIG_ERROR_EXIT)


def explain_error(exc: BaseException, database_url: str | None) -> str | None:
    """One line for a configuration or database error (what is wrong, what to do); None for anything else."""
    if isinstance(exc, ConfigError):
        return str(exc)
    where = f" at {describe_database_url(database_url)}" if database_url else ""
    reason = database_error_reason(exc)
    lowered = reason.lower()
    if isinstance(exc, OperationalError | ProgrammingError) and (
        "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered)
    ):
        return f"the database{where} has no tables yet ({reason}); run: flask --app wsgi db upgrade"
    # DatabaseError itself (not its subclasses, which are bugs such as IntegrityError): the driver cannot use
    # the database at all, e.g. SQLite's "file is not a database".
    if isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError:
        return (
            f"cannot use the database{where}: {reason}; "
            "check DATABASE_URL and that the database server is running"
        )
    return None


def install_cli_error_handler(database_url: str | None) -> None:
    """Turn configuration and database errors that reach the top of a command into one line on stderr.

    Any other exception keeps its traceback (it is a bug). Set SURVEY_TRACEBACK=1 to see tracebacks
    for these errors too.
    """
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        line = None if os.environ.get(TRACEBACK_ENV) else explain_error(exc, database_url)
        if line is None:
            previous(exc_type, exc, tb)
            return
        sys.stderr.write(f"survey-app: {' '.join(line.split())}\n")
        sys.stderr.flush()
        # sys.excepthook cannot choose the exit status (Python exits with 1 after it).

    sys.excepthook = hook
