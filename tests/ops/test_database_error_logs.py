"""A failing statement's error (logged, and shown in tracebacks) never carries the values it was given."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from config import engine_options
from survey_app.extensions import db as db_extension
from survey_app.models import Organisation
from tests.conftest import dispose_engines, make_app, unique

log = logging.getLogger("survey_app.tests")


def _logged_failure(db: SQLAlchemy, caplog: pytest.LogCaptureFixture, run: Callable[[], None]) -> str:
    """Run ``run`` in a savepoint; the failure as the app's log and a traceback would show it."""
    with caplog.at_level(logging.DEBUG):
        try:
            with db.session.begin_nested():
                run()
        except DBAPIError as error:
            log.exception("the database refused a write")
            return str(error) + "".join(traceback.format_exception(error)) + caplog.text
    raise AssertionError("the statement did not fail")


def test_a_refused_write_logs_no_answer_or_name(db: SQLAlchemy, caplog: pytest.LogCaptureFixture) -> None:
    name = unique("Marieke Jansen ")
    db.session.add(Organisation(name=name))
    db.session.flush()

    def duplicate() -> None:
        db.session.add(Organisation(name=name))
        db.session.flush()

    shown = _logged_failure(db, caplog, duplicate)
    assert "IntegrityError" in shown and "hidden due to hide_parameters" in shown
    assert name not in shown


def test_a_failing_query_logs_no_value(db: SQLAlchemy, caplog: pytest.LogCaptureFixture) -> None:
    answer = unique("I drank again on Friday ")

    def bad_query() -> None:
        db.session.execute(text("SELECT * FROM no_such_table WHERE note = :note"), {"note": answer})

    shown = _logged_failure(db, caplog, bad_query)
    assert "no_such_table" in shown and answer not in shown


def test_every_engine_of_the_app_hides_parameters(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        assert all(engine.hide_parameters for engine in db_extension.engines.values())
    for url in ("sqlite:///survey.sqlite3", "postgresql+psycopg://survey@localhost/survey"):
        assert engine_options(url)["hide_parameters"] is True
    # Engine options of the deployment's own, and another database bound besides, hide them too.
    other = make_app(
        f"sqlite:///{tmp_path / 'main.sqlite3'}",
        tmp_path / "instance",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 1}},
        SQLALCHEMY_BINDS={"extra": f"sqlite:///{tmp_path / 'extra.sqlite3'}"},
    )
    try:
        with other.app_context():
            engines = db_extension.engines
            assert set(engines) == {None, "extra"}
            assert all(engine.hide_parameters for engine in engines.values())
    finally:
        dispose_engines(other)
        db_extension.metadatas.pop("extra", None)  # the bind's metadata is kept on the shared extension
