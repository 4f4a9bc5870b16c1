"""Helper processes (pyarrow for Parquet, pyreadstat for the SPSS and Stata dictionaries): a failure on
either side stops both, says why, and leaves no process behind."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from survey_app.exports.helper_process import HelperError, HelperProcess
from survey_app.exports.parquet_out import ROW_GROUP, write_parquet
from survey_app.exports.spss_stata import write_sav
from survey_app.exports.table import Row
from tests.exports.memory_probe import VARIABLES, rows


def children() -> set[int]:
    """The processes this test process started that still exist."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except FileNotFoundError:  # a thread that ended while the tasks were read has no children left
            continue
    return found


@pytest.fixture
def no_process_left_behind() -> Iterator[None]:
    before = children()
    yield
    assert children() - before == set()


def test_parquet_from_the_helper_has_every_row_in_row_groups_of_the_same_size(tmp_path: Path) -> None:
    count = 2 * ROW_GROUP + 5
    result = write_parquet(VARIABLES, rows(count), tmp_path / "rows.parquet", metadata={"export": "test"})
    parquet = pq.ParquetFile(tmp_path / "rows.parquet")
    assert result.rows == parquet.metadata.num_rows == count
    assert [parquet.metadata.row_group(i).num_rows for i in range(3)] == [ROW_GROUP, ROW_GROUP, 5]
    table = parquet.read()
    assert table.column("item").to_pylist()[:3] == ["item_0", "item_1", "item_2"]
    assert table.column("value").to_pylist()[9] is None
    assert parquet.schema_arrow.metadata[b"export"] == b"test"


def test_an_error_in_the_helper_reaches_the_caller_with_its_reason(
    tmp_path: Path, no_process_left_behind: None
) -> None:
    with pytest.raises(HelperError, match=r"parquet_out: .*(No such file|directory)"):
        write_parquet(VARIABLES, rows(10_000), tmp_path / "missing-folder" / "rows.parquet")


def test_rows_that_fail_half_way_stop_the_helper_and_raise_the_original_error(
    tmp_path: Path, no_process_left_behind: None
) -> None:
    def failing() -> Iterator[Row]:
        yield from rows(5_000)
        raise RuntimeError("the database connection was lost")

    for writer, name in ((write_parquet, "rows.parquet"), (write_sav, "rows.sav")):
        with pytest.raises(RuntimeError, match="connection was lost"):
            writer(VARIABLES, failing(), tmp_path / name)


def test_a_helper_that_cannot_start_is_an_error_not_a_hang(no_process_left_behind: None) -> None:
    outcome: list[BaseException] = []

    def attempt() -> None:
        with HelperProcess("survey_app.exports.no_such_module") as helper:
            try:
                helper.send(("header",))
                helper.finish()
            except HelperError as error:
                outcome.append(error)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "waiting for a helper that never started"
    assert "ended without a reply" in str(outcome[0])
