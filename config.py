"""Application configuration, filled from environment variables.

``SURVEY_ENV`` picks the class: ``development`` (default), ``production`` or ``testing``.

Environment variables read:

- ``DATABASE_URL``: ``postgresql://...`` (also ``postgres://`` and ``postgresql+psycopg://``) or
  ``sqlite:///...`` (a file in a folder that exists; never in-memory); unset means the embedded SQLite file
  ``instance/survey.sqlite3``.
- ``SECRET_KEY``: required in production; in development one is generated once into
  ``instance/secret_key`` (mode 0600) and reused.
- ``SURVEY_INSTANCE_PATH``: where ``instance/`` lives (default: ``<project root>/instance``).
- ``QUESTIONNAIRE_DIR``: the published questionnaire files (default: ``<project root>/questionnaires``).
- ``STAFF_IDLE_TIMEOUT_MINUTES`` (30), ``STAFF_ABSOLUTE_TIMEOUT_HOURS`` (12).
- ``CLIENT_IDLE_TIMEOUT_MINUTES`` (10): client mode locks after this long without use.
- ``SURVEY_PROXY_COUNT``: how many reverse proxies to trust for X-Forwarded-For/-Proto (default 0).
- ``LOG_FORMAT``: ``json`` (production default) or ``text``; ``LOG_LEVEL`` (INFO).
- ``STATIC_MAX_AGE_SECONDS``: browser cache lifetime of the versioned static files (one year).
- ``RATELIMIT_STORAGE_URI``: where rate-limit counters live, shared by every worker: ``redis://host:6379``
  (production with several hosts), default a SQLite file ``instance/rate-limits.sqlite3``.
- ``AUDIT_CHECKPOINT_PATH``: the signed audit checkpoints, kept outside the database (default
  ``instance/audit-checkpoints.jsonl``; in production a path the database administrators cannot write).
- ``AUDIT_CHECKPOINT_KEY``: the key that signs checkpoints (default: derived from SECRET_KEY).
- ``SURVEY_TIMEZONE``: the timezone of "today" and of every date and time shown (default
  ``Europe/Brussels``), an IANA name such as ``Europe/Amsterdam``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_TIMEZONE = "Europe/Brussels"
MAKE_SECRET_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"

#: How long a SQLite write waits for another writer's transaction before giving up (the driver's busy
#: timeout). Writers queue on one lock; under a burst of tablets a wait of several seconds is normal.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


class ConfigError(Exception):
    """A configuration problem, explained in one line that says what to do."""


def instance_path_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """Return the absolute instance folder (``SURVEY_INSTANCE_PATH`` or ``<project root>/instance``)."""
    env = os.environ if environ is None else environ
    value = env.get("SURVEY_INSTANCE_PATH")
    return Path(value).expanduser().resolve() if value else DEFAULT_INSTANCE_PATH


def default_database_url(instance_path: Path) -> str:
    """The embedded database: ``survey.sqlite3`` in the instance folder."""
    return f"sqlite:///{instance_path / 'survey.sqlite3'}"


def database_url(value: str | None, instance_path: Path) -> str:
    """Normalise DATABASE_URL: PostgreSQL via psycopg 3, or SQLite; anything else is a ConfigError."""
    if not value or not value.strip():
        return default_database_url(instance_path)
    value = value.strip()
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme in _POSTGRES_SCHEMES:
        url = "postgresql+psycopg://" + value.split("://", 1)[1]
    elif scheme in _SQLITE_SCHEMES:
        url = value
    else:
        shown = f"'{scheme}://'" if scheme else "a value without a scheme"
        raise ConfigError(
            f"DATABASE_URL must start with postgresql:// or sqlite:///, not {shown}; "
            "for example DATABASE_URL=postgresql+psycopg://user:password@host:5432/survey"
        )
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise ConfigError(f"DATABASE_URL cannot be parsed ({exc}); check its spelling") from None
    if scheme in _SQLITE_SCHEMES:
        _check_sqlite_file(parsed.database)
    return url


def _check_sqlite_file(database: str | None) -> None:
    """Refuse an in-memory database, and a file in a folder that does not exist (usually a typo)."""
    if not database or database == ":memory:" or "mode=memory" in database:
        raise ConfigError(
            "DATABASE_URL names an in-memory SQLite database, which forgets everything when the process "
            "ends; name a file instead, for example DATABASE_URL=sqlite:////srv/survey/survey.sqlite3"
        )
    folder = Path(database).expanduser().parent
    if not folder.is_dir():
        raise ConfigError(
            f"DATABASE_URL names a SQLite file in {folder}, which does not exist; "
            "create that folder or correct DATABASE_URL"
        )


def ensure_instance_folder(path: Path) -> None:
    """Create the instance folder (and its parents) if needed; a ConfigError says when that is impossible."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the instance folder {path} ({exc.strerror}); "
            "set SURVEY_INSTANCE_PATH to a folder this user can write"
        ) from None


#: Options of every database engine: an error's message (logged, and in tracebacks) names no bound values,
#: which may be a client's answers or name.
ENGINE_DEFAULTS: dict[str, Any] = {"hide_parameters": True}


def engine_options(url: str) -> dict[str, Any]:
    """Return SQLALCHEMY_ENGINE_OPTIONS for the database the URL points at."""
    if url.startswith("postgresql"):
        return {**ENGINE_DEFAULTS, "pool_pre_ping": True, "connect_args": {"connect_timeout": 5}}
    # SQLite: pragmas and BEGIN IMMEDIATE are installed by survey_app.db.configure_engine().
    return {**ENGINE_DEFAULTS, "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}


def _int_env(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _choice_env(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")


def timezone_name(value: str | None) -> str:
    """SURVEY_TIMEZONE checked against the timezone database (Europe/Brussels when unset)."""
    name = (value or "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"SURVEY_TIMEZONE must be a timezone name such as {DEFAULT_TIMEZONE}, not {name!r}"
        ) from None
    return name


def load_or_create_secret_key(instance_path: Path) -> str:
    """Read ``instance/secret_key``, creating it once (mode 0600, atomically) when it is missing."""
    path = instance_path / SECRET_KEY_FILE
    if not path.exists():
        ensure_instance_folder(instance_path)
        tmp = instance_path / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process won the race: use theirs
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"{path} holds a key that is too short; delete the file to have a new one made")
    return key


class Config:
    """Settings shared by every environment; subclasses change what differs."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    SECURE_COOKIES = False

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_RECORD_QUERIES = False
    WTF_CSRF_ENABLED = True
    # The token lives as long as the (server-side, time-limited) session: an old tab can still sign out.
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    JSON_SORT_KEYS = False
    # Rate limits per client address (Flask-Limiter syntax); the counters are shared by every worker. Code
    # entry counts per browser, and per address with a higher limit: clients at one centre share its address.
    RATELIMIT_SIGN_IN = "30 per minute;200 per hour"
    RATELIMIT_SECOND_FACTOR = "10 per minute;60 per hour"
    RATELIMIT_CLIENT_CODE = "10 per minute;60 per hour"
    RATELIMIT_CLIENT_CODE_ADDRESS = "60 per minute;300 per hour"
    DEFAULT_LOG_FORMAT = "text"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.INSTANCE_PATH = str(instance_path_from_env(env))
        # The database first: a bad URL must fail before anything is written to instance/.
        self.SQLALCHEMY_DATABASE_URI = database_url(env.get("DATABASE_URL"), Path(self.INSTANCE_PATH))
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.STAFF_IDLE_TIMEOUT_MINUTES = _int_env(env, "STAFF_IDLE_TIMEOUT_MINUTES", 30)
        self.STAFF_ABSOLUTE_TIMEOUT_HOURS = _int_env(env, "STAFF_ABSOLUTE_TIMEOUT_HOURS", 12)
        self.CLIENT_IDLE_TIMEOUT_MINUTES = _int_env(env, "CLIENT_IDLE_TIMEOUT_MINUTES", 10)
        self.QUESTIONNAIRE_DIR = str(
            Path(env.get("QUESTIONNAIRE_DIR") or PROJECT_ROOT / "questionnaires").expanduser().resolve()
        )
        self.PROXY_COUNT = _int_env(env, "SURVEY_PROXY_COUNT", 0, minimum=0)
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "").strip()
        self.AUDIT_CHECKPOINT_PATH = str(
            Path(env.get("AUDIT_CHECKPOINT_PATH") or Path(self.INSTANCE_PATH) / "audit-checkpoints.jsonl")
            .expanduser()
            .resolve()
        )
        self.AUDIT_CHECKPOINT_KEY = env.get("AUDIT_CHECKPOINT_KEY", "").strip()
        self.LOG_FORMAT = _choice_env(env, "LOG_FORMAT", ("text", "json"), self.DEFAULT_LOG_FORMAT)
        self.LOG_LEVEL = _choice_env(env, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
        self.STATIC_MAX_AGE_SECONDS = _int_env(env, "STATIC_MAX_AGE_SECONDS", 31_536_000, minimum=0)
        self.BABEL_DEFAULT_TIMEZONE = timezone_name(env.get("SURVEY_TIMEZONE"))
        self.SESSION_COOKIE_SECURE = self.SECURE_COOKIES
        self.REMEMBER_COOKIE_SECURE = self.SECURE_COOKIES
        self.SECRET_KEY = self.secret_key(env)

    def secret_key(self, env: Mapping[str, str]) -> str:
        """Return the SECRET_KEY for this environment."""
        key = env.get("SECRET_KEY", "").strip()
        return key or load_or_create_secret_key(Path(self.INSTANCE_PATH))


class DevelopmentConfig(Config):
    """The embedded default: ``make run`` on a laptop."""

    ENV_NAME = "development"
    TEMPLATES_AUTO_RELOAD = True


class TestingConfig(Config):
    """The test suite: CSRF stays on; a throwaway key unless SECRET_KEY is given."""

    ENV_NAME = "testing"
    TESTING = True

    def secret_key(self, env: Mapping[str, str]) -> str:
        """Return SECRET_KEY from the environment or a fresh random one (nothing written to disk)."""
        return env.get("SECRET_KEY", "").strip() or secrets.token_hex(32)


class ProductionConfig(Config):
    """Production: secure cookies, ``__Host-`` session cookie, SECRET_KEY required."""

    ENV_NAME = "production"
    SECURE_COOKIES = True
    SESSION_COOKIE_NAME = "__Host-session"
    PREFERRED_URL_SCHEME = "https"
    DEFAULT_LOG_FORMAT = "json"

    def secret_key(self, env: Mapping[str, str]) -> str:
        """Return SECRET_KEY from the environment; refuse to start without a long enough one."""
        key = env.get("SECRET_KEY", "").strip()
        if not key:
            raise ConfigError(
                f"SECRET_KEY is not set; production needs one: export SECRET_KEY=$({MAKE_SECRET_HINT})"
            )
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SECRET_KEY is too short (at least {MIN_SECRET_KEY_LENGTH} characters); "
                f"make one with: {MAKE_SECRET_HINT}"
            )
        return key


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Build the Config for ``name`` (default: ``SURVEY_ENV``, else development)."""
    env = os.environ if environ is None else environ
    chosen = (name or env.get("SURVEY_ENV") or "development").strip().lower()
    if chosen not in CONFIGS:
        raise ConfigError(f"SURVEY_ENV must be one of {', '.join(CONFIGS)}, not {chosen!r}")
    return CONFIGS[chosen](env)
