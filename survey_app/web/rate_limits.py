"""Rate limits (Flask-Limiter) counted in a store every worker shares.

The store comes from ``RATELIMIT_STORAGE_URI``: ``redis://host:6379`` in production (several workers
or hosts), otherwise a SQLite file of its own in the instance folder (``rate-limits.sqlite3``) that
every worker process on the host shares. Each app keeps its own store, so several apps in one process
(tests) never count into each other's.

To limit a view, name a limit from the config (so it can be tuned without code changes)::

    from survey_app.web.rate_limits import configured_limit, limiter

    @bp.post("/code")
    @limiter.limit(configured_limit("RATELIMIT_CLIENT_CODE"))
    def enter_code(): ...

Requests are counted per client address (``request.remote_addr``, after the trusted proxies of
``SURVEY_PROXY_COUNT``). Over the limit, the request gets the generic 429 page with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import Storage, storage_from_string

from survey_app.services.rate_limits import sqlite_storage_uri

__all__ = ["STORAGE_FILE", "configured_limit", "limiter", "rate_limit_storage", "register_rate_limits"]

STORAGE_FILE = "rate-limits.sqlite3"
_EXTENSION_KEY = "survey_rate_limit_storage"


class _CurrentAppStorage(Storage):
    """Hands every call to the storage of the app handling the request."""

    STORAGE_SCHEME = ["survey-app"]  # noqa: RUF012 (the base class declares it as a list)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        """What a failing storage raises."""
        return Exception

    @staticmethod
    def _target() -> Storage:
        return rate_limit_storage(current_app)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Increment in the current app's storage."""
        return self._target().incr(key, expiry, amount=amount)

    def get(self, key: str) -> int:
        """Read from the current app's storage."""
        return self._target().get(key)

    def get_expiry(self, key: str) -> float:
        """Window end in the current app's storage."""
        return self._target().get_expiry(key)

    def check(self) -> bool:
        """Health of the current app's storage."""
        return self._target().check()

    def reset(self) -> int | None:
        """Clear the current app's storage."""
        return self._target().reset()

    def clear(self, key: str) -> None:
        """Clear one key in the current app's storage."""
        self._target().clear(key)


limiter = Limiter(
    key_func=get_remote_address,
    storage_uri="survey-app://",
    strategy="fixed-window",
    headers_enabled=True,
    key_prefix="survey",
)


def configured_limit(name: str) -> Callable[[], str]:
    """A limit read from the app config at request time, e.g. ``configured_limit("RATELIMIT_SIGN_IN")``."""

    def value() -> str:
        return str(current_app.config[name])

    return value


def rate_limit_storage(app: Flask) -> Storage:
    """The counter store of ``app``."""
    storage: Storage = app.extensions[_EXTENSION_KEY]
    return storage


def register_rate_limits(app: Flask) -> None:
    """Open the app's counter store (Redis or the shared SQLite file) and bind the limiter."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or sqlite_storage_uri(
        Path(app.instance_path) / STORAGE_FILE
    )
    app.extensions[_EXTENSION_KEY] = storage_from_string(uri)
    limiter.init_app(app)
