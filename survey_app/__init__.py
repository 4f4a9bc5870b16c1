"""Client-reported outcomes for drug-treatment-court recovery programmes: the Flask app factory.

Importing the package loads nothing else: `create_app` imports the app's parts when it is called. A helper
process that needs only one module (an export writer in `survey_app.exports`) stays small.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]

#: Overrides read like the environment variables of the same name (before the config is built).
ENV_OVERRIDES = ("DATABASE_URL", "SECRET_KEY", "SURVEY_INSTANCE_PATH", "QUESTIONNAIRE_DIR")


def create_app(config_name: str | None = None, **overrides: Any) -> Flask:
    """Build the app: ``config_name`` is development, testing or production (default: SURVEY_ENV)."""
    from flask import Flask

    from survey_app.cli import register_cli
    from survey_app.errors import register_error_handlers
    from survey_app.extensions import register_extensions
    from survey_app.i18n import register_i18n
    from survey_app.observability import register_observability
    from survey_app.web import (
        register_blueprints,
        register_middleware,
        register_request_hooks,
        register_security_headers,
    )
    from survey_app.web.rate_limits import register_rate_limits

    app = Flask(__name__)
    register_config(app, config_name, overrides)
    register_questionnaires(app)
    register_extensions(app)
    register_rate_limits(app)
    register_i18n(app)
    register_blueprints(app)
    register_cli(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_request_hooks(app)
    register_middleware(app)
    register_observability(app)
    return app


def register_questionnaires(app: Flask) -> None:
    """Refuse to start when a published questionnaire file changed after publication."""
    from config import ConfigError
    from survey_app.questionnaires.registry import PublicationError, verify_publications

    try:
        verify_publications(Path(app.config["QUESTIONNAIRE_DIR"]))
    except PublicationError as error:
        raise ConfigError(str(error)) from None


def register_config(app: Flask, config_name: str | None, overrides: dict[str, Any]) -> None:
    """Load the config class from the environment (plus overrides); set the instance folder."""
    from config import PROJECT_ROOT, config_for, default_database_url, ensure_instance_folder

    environ = dict(os.environ)
    environ.update({key: str(overrides.pop(key)) for key in ENV_OVERRIDES if key in overrides})
    settings = config_for(config_name, environ)
    app.config.from_object(settings)
    app.config.update(overrides)
    app.instance_path = app.config["INSTANCE_PATH"]
    app.config["MIGRATIONS_DIR"] = str(PROJECT_ROOT / "migrations")
    if app.config["SQLALCHEMY_DATABASE_URI"] == default_database_url(Path(app.instance_path)):
        ensure_instance_folder(Path(app.instance_path))  # the embedded database lives there
