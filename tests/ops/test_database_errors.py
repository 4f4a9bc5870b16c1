"""What a tablet hears when the database cannot take a write: it waits for other writers, and when it must
give up it says why (busy, or out of storage) in words, with Retry-After, and nothing is half-written."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from survey_app.errors import BUSY_MESSAGE, FULL_MESSAGE, database_problem
from survey_app.extensions import db
from survey_app.models import Answer, AssessmentSession
from survey_app.web.client.guard import CLIENT_MODE_KEY
from tests.client.fixtures import page_csrf
from tests.client.support import hand_over_committed
from tests.conftest import dispose_engines, make_app, staff_password_hash


@dataclass
class Tablet:
    """A browser handed over to a client, on an app with its own SQLite file."""

    app: Flask
    path: str
    browser: FlaskClient
    public_id: str
    token: str

    def autosave(self, value: int, other_income: str | None = None) -> Any:
        """Save the mood answer (and an income from elsewhere, described) as the tablet's script does."""
        answers = [{"item": "mood", "value": value}]
        if other_income is not None:
            answers += [{"item": "income", "value": [3]}, {"item": "income_other", "value": other_income}]
        body = {"answers": [{"questionnaire": "tablet_form", "version": 1, **answer} for answer in answers]}
        return self.browser.put(
            f"/api/v1/sessions/{self.public_id}/answers",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.token},
        )

    def stored_answers(self) -> int:
        """How many answers the session holds."""
        with self.app.app_context():
            session_id = select(AssessmentSession.id).where(AssessmentSession.public_id == self.public_id)
            count = db.session.scalar(
                select(func.count())
                .select_from(Answer)
                .where(Answer.session_id == session_id.scalar_subquery())
            )
            db.session.rollback()
        return int(count or 0)


def _tablet(tmp_path: Path, page_size: int = 4096, **overrides: Any) -> Iterator[Tablet]:
    path = str(tmp_path / "survey.sqlite3")
    with sqlite3.connect(path) as new:  # the page size is fixed when the file is made
        new.execute(f"PRAGMA page_size = {page_size}")
        new.execute("CREATE TABLE made (id INTEGER)")
        new.execute("DROP TABLE made")
        new.execute("VACUUM")
    app = make_app(f"sqlite:///{path}", tmp_path / "instance", **overrides)
    with app.app_context():
        db.create_all()
        token, public_id = hand_over_committed(db.session, tag="DBERR", password_hash=staff_password_hash())
    browser = app.test_client()
    with browser.session_transaction() as session:
        session[CLIENT_MODE_KEY] = token
    yield Tablet(app, path, browser, public_id, page_csrf(browser, "/client/"))
    dispose_engines(app)


@pytest.fixture
def tablet(tmp_path: Path) -> Iterator[Tablet]:
    """A handed-over tablet on an app with the default busy timeout."""
    yield from _tablet(tmp_path)


@pytest.fixture
def small_page_tablet(tmp_path: Path) -> Iterator[Tablet]:
    """A handed-over tablet on a database of 512-byte pages: a long answer needs a page of its own."""
    yield from _tablet(tmp_path, page_size=512)


@pytest.fixture
def impatient_tablet(tmp_path: Path) -> Iterator[Tablet]:
    """A handed-over tablet on an app that waits only 0.2 s for another writer."""
    yield from _tablet(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.2}})


def _hold_write_lock(path: str, seconds: float) -> threading.Thread:
    """Another process's long write transaction: take SQLite's write lock and keep it for `seconds`."""
    taken = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        other.execute("ROLLBACK")
        other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    return holder


@pytest.mark.slow
def test_an_autosave_waits_for_a_writer_that_holds_the_database_six_seconds(tablet: Tablet) -> None:
    holder = _hold_write_lock(tablet.path, 6.0)
    response = tablet.autosave(3)
    holder.join()
    assert response.status_code == 200, response.get_json()
    assert tablet.stored_answers() == 1


def test_a_write_that_gives_up_waiting_says_the_service_is_busy_and_stores_nothing(
    impatient_tablet: Tablet, caplog: pytest.LogCaptureFixture
) -> None:
    holder = _hold_write_lock(impatient_tablet.path, 1.5)
    response = impatient_tablet.autosave(3)
    holder.join()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["message"] == BUSY_MESSAGE
    assert "locked" not in response.get_data(as_text=True)
    assert impatient_tablet.stored_answers() == 0
    assert impatient_tablet.autosave(3).status_code == 200  # the next try gets through


@pytest.mark.parametrize(
    ("language", "words"), [("nl", "De dienst heeft het te druk"), ("fr", "Le service est surchargé")]
)
def test_a_client_reading_dutch_or_french_is_told_in_that_language_that_the_service_is_busy(
    impatient_tablet: Tablet, language: str, words: str
) -> None:
    with impatient_tablet.browser.session_transaction() as session:
        session["language"] = language
    holder = _hold_write_lock(impatient_tablet.path, 1.5)
    response = impatient_tablet.autosave(3)
    holder.join()
    assert response.status_code == 503
    assert response.get_json()["message"].startswith(words)


def test_a_full_disk_is_named_as_such_and_nothing_of_the_request_is_stored(
    small_page_tablet: Tablet, caplog: pytest.LogCaptureFixture
) -> None:
    tablet = small_page_tablet
    with tablet.app.app_context():
        engine = db.engine
        pages = db.session.execute(db.text("PRAGMA page_count")).scalar()
        db.session.rollback()
        engine.dispose()

    def no_room(connection: Any, _record: Any) -> None:  # the file may not grow by one page
        connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", no_room)
    with caplog.at_level(logging.ERROR, logger="survey_app.errors"):
        response = tablet.autosave(3, other_income="a small job " * 40)
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["message"] == FULL_MESSAGE
    assert int(response.headers["Retry-After"]) > 0
    assert "database storage is full" in caplog.text
    event.remove(engine, "connect", no_room)
    engine.dispose()
    assert tablet.stored_answers() == 0
    assert tablet.autosave(3, other_income="a small job " * 40).status_code == 200  # room again: stored
    assert tablet.stored_answers() == 3


@pytest.fixture
def unwaiting_tablet(tmp_path: Path) -> Iterator[Tablet]:
    """A handed-over tablet on an app whose SQLite connections do not wait for another process at all."""
    yield from _tablet(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0}})


def test_writers_of_one_worker_take_turns_instead_of_failing_on_the_lock(unwaiting_tablet: Tablet) -> None:
    app = unwaiting_tablet.app
    with app.app_context():
        engine = db.engine
    holding, answered = threading.Event(), []

    def other_request() -> None:  # another thread of the same worker writes for a second
        with engine.begin() as connection:
            connection.execute(db.text("UPDATE assessment_sessions SET language = language"))
            holding.set()
            time.sleep(1.0)

    other = threading.Thread(target=other_request)
    other.start()
    holding.wait(5)
    answered.append(unwaiting_tablet.autosave(3))
    other.join()
    assert answered[0].status_code == 200, answered[0].get_json()
    assert unwaiting_tablet.stored_answers() == 1


OTHER_WORKER = """
import sys, time
from sqlalchemy import create_engine, event, text
from survey_app.db import configure_engine
engine = create_engine(f"sqlite:///{sys.argv[1]}", connect_args={"timeout": 0})
configure_engine(engine)
if len(sys.argv) > 2:  # a COMMIT that takes its time, as on a slow disk
    event.listen(engine, "commit", lambda _connection: time.sleep(float(sys.argv[2])))
with engine.begin() as connection:
    connection.execute(text("UPDATE assessment_sessions SET language = language"))
    print("holding", flush=True)
    time.sleep(1.0)
"""


def test_writers_of_two_workers_take_turns_instead_of_failing_on_the_lock(unwaiting_tablet: Tablet) -> None:
    command = [sys.executable, "-c", OTHER_WORKER, unwaiting_tablet.path]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"
        answered = unwaiting_tablet.autosave(3)  # SQLite itself would refuse at once: its wait is 0 here
        assert other.wait(10) == 0
    assert answered.status_code == 200, answered.get_json()
    assert unwaiting_tablet.stored_answers() == 1


def test_the_next_writer_gets_its_turn_only_once_the_commit_is_done(unwaiting_tablet: Tablet) -> None:
    command = [sys.executable, "-c", OTHER_WORKER, unwaiting_tablet.path, "0.5"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"
        answered = unwaiting_tablet.autosave(
            3
        )  # still no wait of SQLite's own: the turn must cover the commit
        assert other.wait(10) == 0
    assert answered.status_code == 200, answered.get_json()
    assert unwaiting_tablet.stored_answers() == 1


def test_a_connection_lost_after_the_answer_was_made_does_not_turn_it_into_an_error(
    tablet: Tablet, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with tablet.app.app_context():
        dialect = db.engine.dialect
    lost = sqlite3.OperationalError("disk I/O error")

    def connection_gone(_dbapi_connection: Any) -> None:
        raise lost

    monkeypatch.setattr(dialect, "do_rollback", connection_gone)  # the database goes away after the view
    with caplog.at_level(logging.WARNING):
        read = tablet.browser.get(f"/api/v1/sessions/{tablet.public_id}")
    assert read.status_code == 200 and read.get_json()["id"] == tablet.public_id
    assert any("ending the request" in record.getMessage() for record in caplog.records)
    monkeypatch.undo()
    assert tablet.autosave(3).status_code == 200  # the app goes on with a connection that works
    assert tablet.stored_answers() == 1


@pytest.mark.parametrize(
    ("driver_error", "problem"),
    [
        (psycopg.errors.DiskFull("could not extend file: No space left on device"), "full"),
        (psycopg.errors.LockNotAvailable("could not obtain lock"), "busy"),
        (psycopg.OperationalError("connection refused"), "unavailable"),
    ],
)
def test_postgresql_errors_are_told_apart_by_their_sqlstate(driver_error: Exception, problem: str) -> None:
    assert database_problem(OperationalError("INSERT ...", {}, driver_error)) == problem
