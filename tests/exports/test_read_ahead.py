"""Reading an export's rows ahead: every row once and in order, errors reach the reader, nothing is left
running, and on PostgreSQL the server-side cursor is read directly in batches."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.exports.read_ahead import ReadAhead
from survey_app.services.exports import layouts
from tests.conftest import ON_POSTGRES
from tests.exports.conftest import World


def test_batches_arrive_in_order_and_the_end_repeats() -> None:
    batches = ReadAhead(iter([[1, 2], [3], [4, 5, 6]]))
    assert list(batches) == [[1, 2], [3], [4, 5, 6]]
    assert next(batches, "ended") == "ended"
    batches.close()


def test_an_error_while_fetching_reaches_the_reader_after_the_batches_before_it() -> None:
    def failing() -> Iterator[list[int]]:
        yield [1]
        raise ConnectionError("the database connection was cut")

    batches = ReadAhead(failing())
    assert next(batches) == [1]
    with pytest.raises(ConnectionError, match="was cut"):
        next(batches)
    batches.close()


def test_closing_early_stops_the_thread_although_more_batches_wait() -> None:
    fetched: list[int] = []

    def endless() -> Iterator[list[int]]:
        number = 0
        while True:
            number += 1
            fetched.append(number)
            yield [number]

    batches = ReadAhead(endless(), depth=2)
    assert next(batches) == [1]
    batches.close()
    assert not any(thread.name == "export-read-ahead" for thread in threading.enumerate())
    assert len(fetched) <= 4  # the one read, two queued and at most one waiting to be


class _Cursor:
    """A driver cursor whose position says SQLAlchemy read more rows ahead than it gave."""

    rownumber = 7

    def fetchmany(self, size: int) -> list[tuple[int]]:
        raise AssertionError("the cursor must not be read past rows SQLAlchemy holds")


class _Result:
    cursor = _Cursor()

    def fetchmany(self, size: int) -> list[tuple[int]]:
        return [(1,)]

    def partitions(self, size: int) -> Iterator[list[tuple[int]]]:
        yield [(2,), (3,)]


def test_rows_sqlalchemy_holds_ahead_come_through_it_rather_than_being_skipped() -> None:
    rows = [row for batch in layouts.driver_batches(_Result()) for row in batch]  # type: ignore[arg-type]
    assert rows == [(1,), (2,), (3,)]


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL)")
def test_on_postgresql_the_server_side_cursor_is_read_directly_in_batches(
    db: SQLAlchemy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layouts, "BATCH", 5)
    query = select(func.generate_series(1, 12).column_valued())
    result = db.session.connection().execute(query.execution_options(stream_results=True))
    batches = list(layouts.driver_batches(result))
    result.close()
    assert [len(batch) for batch in batches] == [1, 5, 5, 1]
    assert [row for batch in batches for row in batch] == [(n,) for n in range(1, 13)]
    assert all(type(row) is tuple for batch in batches for row in batch)  # the driver's, not SQLAlchemy's


def test_a_long_export_read_in_small_batches_is_the_same_file(
    export_world: World, run_export: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answers are read ahead in batches while the sessions are read from the same connection."""
    arguments = ("--project", "Ghent evaluation", "--layout", "long", "--format", "csv")
    result, whole = run_export(*arguments, out="whole.csv")
    assert result.exit_code == 0, result.output
    monkeypatch.setattr(layouts, "BATCH", 2)
    result, small = run_export(*arguments, out="small.csv")
    assert result.exit_code == 0, result.output
    assert Path(small).read_bytes() == Path(whole).read_bytes()
    assert Path(whole).read_text().count("\n") > 10
