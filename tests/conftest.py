"""Shared fixtures: the app on a throwaway database, per-test rollback, a client, sign-in and builders.

The suite runs on SQLite by default. With ``TEST_DATABASE_URL=postgresql+psycopg://user@host/db`` it
runs on PostgreSQL: the session creates its own database on that server (the given name plus a random
suffix) and drops it at the end, so parallel runs never collide.

Fixtures other tests use:

- ``app``: the Flask app (testing config, CSRF on), schema made once with ``db.create_all()`` and stamped
  as the migrations' head (the migration test checks both agree).
- ``db``: the ``survey_app.extensions.db`` object whose ``db.session`` is rolled back after the test
  (outer transaction + SAVEPOINT; ``commit()`` in views only releases a savepoint).
- ``client``: a test client running in the same rolled-back transaction.
- ``login_as(role, **staff_fields) -> StaffUser``: signs ``client`` in as a new staff member.
- ``csrf_token(path="/auth/sign-in") -> str``: a CSRF token for ``client``'s session.
- ``query_count``: ``with query_count() as counted: ...`` counts the SQL statements a request runs.
- ``make_organisation``, ``make_site``, ``make_staff``, ``make_programme``, ``make_timepoint``,
  ``make_client``, ``make_questionnaire_version``, ``make_assessment_session``: builders that flush.
- ``fresh_database_url``: the URL of an empty database of the same kind, dropped after the test.
- ``questionnaire_dir``: a copy of the bundled questionnaire folder that the app uses for this test
  (publishing writes to it).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker
from sqlalchemy.pool import NullPool

from config import database_url as normalise_database_url
from survey_app import create_app
from survey_app.extensions import bind_migrations
from survey_app.extensions import db as _db
from survey_app.models import (
    AssessmentSession,
    Client,
    Organisation,
    Programme,
    QuestionnaireVersion,
    SessionQuestionnaire,
    Site,
    StaffUser,
    Timepoint,
)
from survey_app.services import accounts
from survey_app.web.auth.session import SESSION_VERSION_KEY

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip() or None
ON_POSTGRES = TEST_DATABASE_URL is not None
#: Password of every staff member made by ``make_staff`` (hashed once per test session).
STAFF_PASSWORD = "correct horse battery staple"

_counter = itertools.count(1)
_staff_password_hash: str | None = None


def unique(prefix: str) -> str:
    """A name unique within the test session."""
    return f"{prefix}{next(_counter)}"


def staff_password_hash() -> str:
    """The argon2id hash of STAFF_PASSWORD, computed once."""
    global _staff_password_hash
    if _staff_password_hash is None:
        _staff_password_hash = accounts.hash_password(STAFF_PASSWORD)
    return _staff_password_hash


# ---------------------------------------------------------------- throwaway databases
def _postgres_admin_url() -> str:
    assert TEST_DATABASE_URL is not None
    return normalise_database_url(TEST_DATABASE_URL, PROJECT_ROOT / "instance")


#: The kinds of database this run covers: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.
DATABASE_KINDS = ("sqlite", "postgresql") if ON_POSTGRES else ("sqlite",)


@contextmanager
def fresh_database(directory: Path, label: str, kind: str | None = None) -> Iterator[str]:
    """Yield the URL of a new, empty database (SQLite file, or a PostgreSQL database dropped afterwards).

    ``kind`` is "sqlite" or "postgresql"; by default the kind the suite runs on.
    """
    kind = kind or ("postgresql" if ON_POSTGRES else "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'{label}-{secrets.token_hex(4)}.sqlite3'}"
        return
    admin_url = make_url(_postgres_admin_url())
    base = re.sub(r"[^a-z0-9_]", "_", (admin_url.database or "survey").lower())[:40]
    name = f"{base}_{label}_{secrets.token_hex(4)}"[:63]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind under test, for tests that need their own (migrations, tampering)."""
    with fresh_database(tmp_path, "x") as url:
        yield url


def make_app(database_url: str, instance_path: Path, **overrides: Any) -> Flask:
    """A testing app on ``database_url`` with its instance folder at ``instance_path``, migrations bound."""
    app = create_app(
        "testing", DATABASE_URL=database_url, SURVEY_INSTANCE_PATH=str(instance_path), **overrides
    )
    bind_migrations(app)
    return app


def dispose_engines(app: Flask) -> None:
    """Close the app's pooled connections (before a database is dropped)."""
    with app.app_context():
        for engine in _db.engines.values():
            engine.dispose()


# ---------------------------------------------------------------- app, db, client
@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app under test, on a database made for this test session."""
    directory = tmp_path_factory.mktemp("app")
    with fresh_database(directory, "t") as url:
        application = make_app(url, directory / "instance")
        with application.app_context():
            _db.create_all()
            flask_migrate.stamp(directory=application.config["MIGRATIONS_DIR"])  # the schema is the head's
        yield application
        dispose_engines(application)


@pytest.fixture
def db(app: Flask) -> Iterator[SQLAlchemy]:
    """``survey_app.extensions.db`` with every session bound to one connection that is rolled back.

    No app context stays pushed during the test, so each request of ``client`` gets its own app
    context, ``g`` and session, as in production. The test body's ``db.session`` (outside any app
    context) is a session of its own on the same connection: flush before a request reads the rows.
    """
    with app.app_context():
        engine = _db.engine
    connection = engine.connect()
    transaction = connection.begin()
    original = _db.session
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    _db.session = scoped_session(factory, scopefunc=_scope)
    try:
        yield _db
    finally:
        _db.session.remove()
        _db.session = original
        transaction.rollback()
        connection.close()


def _scope() -> int:
    """Sessions are per app context, as in Flask-SQLAlchemy; the test body outside one gets scope 0."""
    ctx = _cv_app.get(None)
    return id(ctx) if ctx is not None else 0


@pytest.fixture
def questionnaire_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled questionnaire folder, used by the app for this test (publishing writes to it)."""
    folder = tmp_path / "questionnaires"
    shutil.copytree(PROJECT_ROOT / "questionnaires", folder)
    monkeypatch.setitem(app.config, "QUESTIONNAIRE_DIR", str(folder))
    return folder


@pytest.fixture
def client(app: Flask, db: SQLAlchemy) -> FlaskClient:
    """A test client whose requests run inside the test's rolled-back transaction."""
    return app.test_client()


@pytest.fixture
def csrf_token(client: FlaskClient) -> Callable[..., str]:
    """Return a function giving a CSRF token valid for ``client``'s session."""

    def get(path: str = "/auth/sign-in") -> str:
        page = client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    return get


@pytest.fixture
def login_as(
    client: FlaskClient, db: SQLAlchemy, make_staff: Callable[..., StaffUser]
) -> Callable[..., StaffUser]:
    """Return a function that signs ``client`` in as a new staff member of the given role."""

    def sign_in(role: str = "counsellor", **staff_fields: Any) -> StaffUser:
        user = make_staff(role=role, **staff_fields)
        token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="pytest")
        db.session.flush()
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
            session[SESSION_VERSION_KEY] = user.session_version
        return user

    return sign_in


# ---------------------------------------------------------------- builders
@pytest.fixture
def make_organisation(db: SQLAlchemy) -> Callable[..., Organisation]:
    """Build an organisation."""

    def build(name: str | None = None) -> Organisation:
        organisation = Organisation(name=name or unique("Organisation "))
        db.session.add(organisation)
        db.session.flush()
        return organisation

    return build


@pytest.fixture
def make_site(db: SQLAlchemy, make_organisation: Callable[..., Organisation]) -> Callable[..., Site]:
    """Build a site (in a new organisation unless one is given)."""

    def build(organisation: Organisation | None = None, **fields: Any) -> Site:
        site = Site(
            organisation_id=(organisation or make_organisation()).id,
            name=fields.pop("name", None) or unique("Site "),
            code=fields.pop("code", None) or unique("S"),
            **fields,
        )
        db.session.add(site)
        db.session.flush()
        return site

    return build


@pytest.fixture
def make_staff(db: SQLAlchemy, make_organisation: Callable[..., Organisation]) -> Callable[..., StaffUser]:
    """Build a staff user; password STAFF_PASSWORD unless ``password`` is given."""

    def build(
        role: str = "counsellor",
        *,
        organisation: Organisation | None = None,
        email: str | None = None,
        password: str | None = None,
        sites: Sequence[Site] = (),
        **fields: Any,
    ) -> StaffUser:
        user = StaffUser(
            organisation_id=(organisation or make_organisation()).id,
            email=email or f"{unique(role.replace('_', '-'))}@example.org",
            display_name=fields.pop("display_name", None) or unique(f"{role.title()} "),
            password_hash=accounts.hash_password(password) if password else staff_password_hash(),
            role=role,
            **fields,
        )
        user.sites = list(sites)
        db.session.add(user)
        db.session.flush()
        return user

    return build


@pytest.fixture
def make_programme(
    db: SQLAlchemy, make_organisation: Callable[..., Organisation]
) -> Callable[..., Programme]:
    """Build a programme, with timepoints given as ``[(key, offset_days), ...]`` (default t0 and t3m)."""

    def build(
        organisation: Organisation | None = None,
        *,
        key: str | None = None,
        timepoints: Sequence[tuple[str, int]] = (("t0", 0), ("t3m", 91)),
    ) -> Programme:
        programme = Programme(
            organisation_id=(organisation or make_organisation()).id,
            key=key or unique("programme_"),
            name=unique("Programme "),
        )
        programme.timepoints = [
            Timepoint(key=tp_key, label=tp_key, position=index, offset_days=offset, window_after_days=14)
            for index, (tp_key, offset) in enumerate(timepoints)
        ]
        db.session.add(programme)
        db.session.flush()
        return programme

    return build


@pytest.fixture
def make_timepoint(db: SQLAlchemy, make_programme: Callable[..., Programme]) -> Callable[..., Timepoint]:
    """Build a timepoint (in a new programme without timepoints unless one is given)."""

    def build(programme: Programme | None = None, **fields: Any) -> Timepoint:
        programme = programme or make_programme(timepoints=())
        timepoint = Timepoint(
            programme_id=programme.id,
            key=fields.pop("key", None) or unique("t"),
            label=fields.pop("label", "Timepoint"),
            position=fields.pop("position", None) or next(_counter),
            **fields,
        )
        db.session.add(timepoint)
        db.session.flush()
        return timepoint

    return build


@pytest.fixture
def make_client(
    db: SQLAlchemy, make_site: Callable[..., Site], make_programme: Callable[..., Programme]
) -> Callable[..., Client]:
    """Build a client (pseudonymous code only) at a site, in a programme, of the same organisation."""

    def build(
        *,
        site: Site | None = None,
        programme: Programme | None = None,
        counsellor: StaffUser | None = None,
        **fields: Any,
    ) -> Client:
        site = site or make_site()
        programme = programme or make_programme(site.organisation)
        client_row = Client(
            code=fields.pop("code", None) or unique("TEST-").upper(),
            site_id=site.id,
            programme_id=programme.id,
            counsellor_id=counsellor.id if counsellor else None,
            intake_date=fields.pop("intake_date", date(2026, 1, 5)),
            **fields,
        )
        db.session.add(client_row)
        db.session.flush()
        return client_row

    return build


@pytest.fixture
def make_questionnaire_version(db: SQLAlchemy) -> Callable[..., QuestionnaireVersion]:
    """Build a stored questionnaire version (a minimal snapshot unless one is given)."""

    def build(
        key: str | None = None, version: int = 1, snapshot: dict[str, Any] | None = None
    ) -> QuestionnaireVersion:
        key = key or unique("q")
        snapshot = snapshot or {"format": 1, "key": key, "version": version, "title": {"en": key}}
        source = json.dumps(snapshot, sort_keys=True)
        row = QuestionnaireVersion(
            key=key,
            version=version,
            content_hash=hashlib.sha256(source.encode()).hexdigest(),
            source_yaml=source,
            snapshot=snapshot,
            title=key.upper(),
        )
        db.session.add(row)
        db.session.flush()
        return row

    return build


@pytest.fixture
def make_assessment_session(
    db: SQLAlchemy,
    make_client: Callable[..., Client],
    make_questionnaire_version: Callable[..., QuestionnaireVersion],
) -> Callable[..., AssessmentSession]:
    """Build an assessment session with its questionnaire versions (one new version unless given)."""

    def build(
        client: Client | None = None,
        *,
        timepoint: Timepoint | None = None,
        versions: Sequence[QuestionnaireVersion] | None = None,
        **fields: Any,
    ) -> AssessmentSession:
        client = client or make_client()
        versions = list(versions) if versions is not None else [make_questionnaire_version()]
        session_row = AssessmentSession(
            client_id=client.id,
            site_id=fields.pop("site_id", client.site_id),
            timepoint_id=timepoint.id if timepoint else None,
            language=fields.pop("language", "en"),
            mode=fields.pop("mode", "tablet"),
            **fields,
        )
        session_row.questionnaires = [
            SessionQuestionnaire(questionnaire_version_id=version.id, position=index)
            for index, version in enumerate(versions)
        ]
        db.session.add(session_row)
        db.session.flush()
        return session_row

    return build


# ---------------------------------------------------------------- multi-factor sign-in and rate limits
@pytest.fixture(autouse=True)
def _fresh_rate_limits(request: pytest.FixtureRequest) -> None:
    """Every test starts with empty rate-limit counters, as if it were the first request of the day."""
    if "app" in request.fixturenames:
        from survey_app.web.rate_limits import rate_limit_storage

        rate_limit_storage(request.getfixturevalue("app")).reset()


@pytest.fixture
def enrol_totp(db: SQLAlchemy) -> Callable[[StaffUser], str]:
    """Return a function giving a staff member a confirmed TOTP secret (it returns the secret)."""
    from survey_app.models.security import StaffMfa
    from survey_app.services import mfa

    def enrol(user: StaffUser) -> str:
        secret = mfa.new_totp_secret()
        user.totp_secret = secret
        db.session.add(StaffMfa(staff_user_id=user.id, last_totp_step=0))
        db.session.flush()
        return secret

    return enrol


@pytest.fixture
def sign_in_with_totp(
    client: FlaskClient,
    db: SQLAlchemy,
    csrf_token: Callable[..., str],
    enrol_totp: Callable[[StaffUser], str],
) -> Callable[..., Any]:
    """Return a function that signs ``client`` in through the real pages: password, then a TOTP code.

    Staff without a secret are enrolled first. Each call may reuse the current 30-second step (the
    used-step marker is moved back, as if the next step had come), so a test can sign in repeatedly.
    """
    from sqlalchemy import update

    from survey_app.models.security import StaffMfa
    from survey_app.services import mfa

    def sign_in(user: StaffUser, password: str = STAFF_PASSWORD, next_url: str | None = None) -> Any:
        if not user.totp_secret:
            enrol_totp(user)
        db.session.execute(update(StaffMfa).where(StaffMfa.staff_user_id == user.id).values(last_totp_step=0))
        db.session.flush()
        path = "/auth/sign-in" + (f"?next={next_url}" if next_url else "")
        first = client.post(
            path, data={"email": user.email, "password": password, "csrf_token": csrf_token()}
        )
        if first.headers.get("Location") != "/auth/verify":
            return first
        code = mfa.current_code(user.totp_secret or "")
        return client.post("/auth/verify", data={"code": code, "csrf_token": csrf_token("/auth/verify")})

    return sign_in


@pytest.fixture
def query_count(app: Flask) -> Callable[[], Any]:
    """`with query_count() as counted: ...` then `counted[0]`: statements run (test savepoints left out)."""

    @contextmanager
    def counting() -> Iterator[list[int]]:
        counted = [0]

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
                counted[0] += 1

        with app.app_context():
            engine = _db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            yield counted
        finally:
            event.remove(engine, "before_cursor_execute", count)

    return counting
