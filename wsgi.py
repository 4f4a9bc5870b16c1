"""WSGI entry point: ``gunicorn 'wsgi:app'`` and ``flask --app wsgi ...``.

Configuration and database errors end the process with one line on stderr, never a traceback.
"""

from config import ConfigError
from survey_app import create_app
from survey_app.cli import fail, install_cli_error_handler

try:
    app = create_app()
except ConfigError as error:
    fail(str(error))

install_cli_error_handler(app.config["SQLALCHEMY_DATABASE_URI"])
