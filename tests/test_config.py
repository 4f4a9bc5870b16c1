"""Configuration from the environment: database URL, secret key, environments."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from config import (
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    config_for,
    database_url,
)

GOOD_KEY = "k" * 64


def test_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path: Path) -> None:
    settings = config_for("development", {"SURVEY_INSTANCE_PATH": str(tmp_path)})
    url = settings.SQLALCHEMY_DATABASE_URI
    assert url == f"sqlite:///{tmp_path / 'survey.sqlite3'}"
    assert Path(url.removeprefix("sqlite:///")).is_absolute()


@pytest.mark.parametrize(
    "given",
    [
        "postgres://u:p@db.example:5432/survey",
        "postgresql://u:p@db.example:5432/survey",
        "postgresql+psycopg://u:p@db.example:5432/survey",
    ],
)
def test_postgresql_urls_are_rewritten_to_psycopg3(tmp_path: Path, given: str) -> None:
    assert database_url(given, tmp_path) == "postgresql+psycopg://u:p@db.example:5432/survey"


def test_postgresql_gets_pre_ping(tmp_path: Path) -> None:
    settings = config_for(
        "development", {"SURVEY_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgres://h/db"}
    )
    assert settings.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] is True


@pytest.mark.parametrize("given", ["mysql://u:secret@h/db", "oracle://x", "just-a-path.db"])
def test_other_databases_are_refused_in_one_line_without_the_password(tmp_path: Path, given: str) -> None:
    instance = tmp_path / "instance"
    with pytest.raises(ConfigError) as caught:
        config_for("development", {"SURVEY_INSTANCE_PATH": str(instance), "DATABASE_URL": given})
    message = str(caught.value)
    assert "DATABASE_URL" in message and "postgresql://" in message
    assert "\n" not in message and "secret" not in message
    assert not instance.exists(), "a bad DATABASE_URL must not leave anything half-written"


def test_a_database_url_with_a_port_that_is_not_a_number_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        database_url("postgresql://survey:hunter2@db.internal:five/survey", tmp_path)
    message = str(caught.value)
    assert message.startswith("DATABASE_URL cannot be parsed") and "'five'" in message
    assert "\n" not in message and "hunter2" not in message


def test_development_secret_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    first = config_for("development", {"SURVEY_INSTANCE_PATH": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = config_for("development", {"SURVEY_INSTANCE_PATH": str(tmp_path)})
    assert first.SECRET_KEY == second.SECRET_KEY
    assert len(first.SECRET_KEY) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"], "no temporary files left behind"


def test_development_uses_secret_key_from_the_environment_when_given(tmp_path: Path) -> None:
    settings = config_for("development", {"SURVEY_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": GOOD_KEY})
    assert settings.SECRET_KEY == GOOD_KEY
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_to_start_without_secret_key_and_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_for("production", {"SURVEY_INSTANCE_PATH": str(tmp_path)})
    message = str(caught.value)
    assert "SECRET_KEY" in message and "secrets.token_hex" in message and "\n" not in message
    assert not (tmp_path / "secret_key").exists(), "production never generates a key"


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="too short"):
        config_for("production", {"SURVEY_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "short"})


def test_production_cookies_are_secure_and_host_prefixed(tmp_path: Path) -> None:
    settings = config_for("production", {"SURVEY_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": GOOD_KEY})
    assert isinstance(settings, ProductionConfig)
    assert settings.SESSION_COOKIE_NAME == "__Host-session"
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.DEBUG is False


def test_survey_env_selects_the_class_and_defaults_to_development(tmp_path: Path) -> None:
    env = {"SURVEY_INSTANCE_PATH": str(tmp_path)}
    assert isinstance(config_for(None, env), DevelopmentConfig)
    assert isinstance(
        config_for(None, {**env, "SURVEY_ENV": "production", "SECRET_KEY": GOOD_KEY}), ProductionConfig
    )
    with pytest.raises(ConfigError, match="SURVEY_ENV"):
        config_for(None, {**env, "SURVEY_ENV": "staging"})


def test_timeouts_and_questionnaire_dir_have_defaults_and_can_be_set(tmp_path: Path) -> None:
    defaults = config_for("testing", {"SURVEY_INSTANCE_PATH": str(tmp_path)})
    assert defaults.STAFF_IDLE_TIMEOUT_MINUTES == 30
    assert defaults.STAFF_ABSOLUTE_TIMEOUT_HOURS == 12
    assert Path(defaults.QUESTIONNAIRE_DIR).name == "questionnaires"
    assert Path(defaults.QUESTIONNAIRE_DIR).is_absolute()
    custom = config_for(
        "testing",
        {
            "SURVEY_INSTANCE_PATH": str(tmp_path),
            "STAFF_IDLE_TIMEOUT_MINUTES": "5",
            "STAFF_ABSOLUTE_TIMEOUT_HOURS": "2",
            "QUESTIONNAIRE_DIR": str(tmp_path / "q"),
        },
    )
    assert (custom.STAFF_IDLE_TIMEOUT_MINUTES, custom.STAFF_ABSOLUTE_TIMEOUT_HOURS) == (5, 2)
    questionnaire_dir = custom.QUESTIONNAIRE_DIR
    assert questionnaire_dir == str(tmp_path / "q")
    with pytest.raises(ConfigError, match="STAFF_IDLE_TIMEOUT_MINUTES"):
        config_for("testing", {"SURVEY_INSTANCE_PATH": str(tmp_path), "STAFF_IDLE_TIMEOUT_MINUTES": "soon"})


def test_dates_and_times_are_those_of_brussels_unless_another_timezone_is_configured(tmp_path: Path) -> None:
    environ = {"SURVEY_INSTANCE_PATH": str(tmp_path)}
    assert config_for("development", environ).BABEL_DEFAULT_TIMEZONE == "Europe/Brussels"
    chosen = config_for("development", {**environ, "SURVEY_TIMEZONE": "Europe/Amsterdam"})
    assert chosen.BABEL_DEFAULT_TIMEZONE == "Europe/Amsterdam"
    with pytest.raises(ConfigError, match="SURVEY_TIMEZONE must be a timezone name such as Europe/Brussels"):
        config_for("development", {**environ, "SURVEY_TIMEZONE": "Brussels"})
