"""CSV (RFC 4180, UTF-8, CRLF) with spreadsheet formula injection neutralised.

A text cell that starts with `=`, `+`, `-`, `@` or a control character (TAB, CR, LF, ...) could run as a
formula when the file is opened in a spreadsheet. Such a cell gets a leading apostrophe (`'=1+1`), as OWASP
recommends; the codebook says so and counts the cells. Numbers are written as numbers and never changed.

Rows are written a batch at a time (`csv.writer.writerows`). A batch is checked through the distinct values
of its text columns (a site code repeats on every row of a session), so the usual batch, with nothing to
neutralise, costs no Python work per row.

A layout whose rows repeat long runs of cells (the long layout: a session's facts on each of its answers) can
instead give lines joined from pieces that `CsvPieces` encoded once, neutralised the same way, and
`write_csv_lines` writes them as they are: the same file, without formatting every cell of every row.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, TextIO

from survey_app.exports.table import TEXT, Row, Variable, WriteResult

RISKY_FIRST_CHARACTERS = frozenset("=+-@") | frozenset(chr(code) for code in (*range(32), 127))
BATCH_ROWS = 4096


def neutralise(value: str) -> str:
    """The cell as written: with a leading apostrophe when it could start a spreadsheet formula."""
    return f"'{value}" if value and value[0] in RISKY_FIRST_CHARACTERS else value


def _is_risky(value: Any) -> bool:
    return isinstance(value, str) and value != "" and value[0] in RISKY_FIRST_CHARACTERS


def _has_risky_cell(batch: Sequence[Row], text_columns: Sequence[int]) -> bool:
    return any(_is_risky(value) for index in text_columns for value in set(map(itemgetter(index), batch)))


def _neutralised_batch(batch: Sequence[Row], text_columns: Sequence[int]) -> tuple[list[Row], int]:
    rows: list[Row] = []
    changed = 0
    for row in batch:
        if any(_is_risky(row[index]) for index in text_columns):
            cells = list(row)
            for index in text_columns:
                if _is_risky(cells[index]):
                    cells[index] = f"'{cells[index]}"
                    changed += 1
            row = tuple(cells)
        rows.append(row)
    return rows, changed


def write_csv(variables: Sequence[Variable], rows: Iterable[Row], stream: TextIO) -> WriteResult:
    """Write a header and the rows to `stream` (opened with newline=""), neutralising risky text cells."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([neutralise(variable.name) for variable in variables])
    text_columns = [
        index
        for index, variable in enumerate(variables)
        if variable.kind == TEXT and not variable.formula_safe
    ]
    result = WriteResult()
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH_ROWS)):
        if text_columns and _has_risky_cell(batch, text_columns):
            batch, changed = _neutralised_batch(batch, text_columns)
            result.neutralised_cells += changed
        writer.writerows(batch)
        result.rows += len(batch)
    return result


class CsvPieces:
    """Runs of a row's cells encoded as CSV text once, to be joined into lines (see `write_csv_lines`).

    A piece of the cells of columns ``first`` onwards ends with the comma before the next column, or with
    the line's end for the last piece. Risky text cells are neutralised as `write_csv` does; `encode` says
    how many, and the caller adds to ``neutralised`` for each line it writes with the piece.
    """

    def __init__(self, variables: Sequence[Variable]) -> None:
        self._risky = frozenset(
            index
            for index, variable in enumerate(variables)
            if variable.kind == TEXT and not variable.formula_safe
        )
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="")
        self.neutralised = 0

    def encode(self, values: Row, first: int, *, ends_row: bool = False) -> tuple[str, int]:
        """The CSV text of these cells of columns ``first`` onwards, and how many of them were neutralised."""
        if not values:
            raise ValueError("a piece of a CSV row needs at least one cell")
        changed = 0
        if any(first + offset in self._risky and _is_risky(value) for offset, value in enumerate(values)):
            cells = list(values)
            for offset, value in enumerate(cells):
                if first + offset in self._risky and _is_risky(value):
                    cells[offset] = f"'{value}"
                    changed += 1
            values = tuple(cells)
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow((*values, ""))  # an empty last cell: a lone empty cell is never quoted
        text = self._buffer.getvalue()
        return (f"{text[:-1]}\r\n" if ends_row else text), changed


def write_csv_lines(
    variables: Sequence[Variable], lines: Iterable[str], stream: TextIO, neutralised: Callable[[], int]
) -> WriteResult:
    """Write a header and lines joined from `CsvPieces` (already neutralised) to `stream`."""
    csv.writer(stream, lineterminator="\r\n").writerow([neutralise(variable.name) for variable in variables])
    result = WriteResult()
    iterator = iter(lines)
    while batch := list(itertools.islice(iterator, BATCH_ROWS)):
        stream.write("".join(batch))
        result.rows += len(batch)
    result.neutralised_cells = neutralised()
    return result
