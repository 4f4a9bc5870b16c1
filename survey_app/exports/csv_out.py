"""CSV (RFC 4180, UTF-8, CRLF) with spreadsheet formula injection neutralised.

A text cell that starts with `=`, `+`, `-`, `@` or a control character (TAB, CR, LF, ...) could run as a
formula when the file is opened in a spreadsheet. Such a cell gets a leading apostrophe (`'=1+1`), as OWASP
recommends; the codebook says so and counts the cells. Numbers are written as numbers and never changed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from survey_app.exports.table import TEXT, Row, Variable, WriteResult

RISKY_FIRST_CHARACTERS = frozenset("=+-@") | frozenset(chr(code) for code in (*range(32), 127))


def neutralise(value: str) -> str:
    """The cell as written: with a leading apostrophe when it could start a spreadsheet formula."""
    return f"'{value}" if value and value[0] in RISKY_FIRST_CHARACTERS else value


def _neutralised_row(row: Row, text_columns: Sequence[int]) -> tuple[list[Any], int]:
    cells = list(row)
    changed = 0
    for index in text_columns:
        value = cells[index]
        if value and value[0] in RISKY_FIRST_CHARACTERS:
            cells[index] = f"'{value}"
            changed += 1
    return cells, changed


def write_csv(variables: Sequence[Variable], rows: Iterable[Row], stream: TextIO) -> WriteResult:
    """Write a header and the rows to `stream` (opened with newline=""), neutralising risky text cells."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([neutralise(variable.name) for variable in variables])
    text_columns = [
        index
        for index, variable in enumerate(variables)
        if variable.kind == TEXT and not variable.formula_safe
    ]
    risky = RISKY_FIRST_CHARACTERS
    writerow = writer.writerow
    result = WriteResult()
    count = 0
    for row in rows:
        for index in text_columns:
            value = row[index]
            if value and value[0] in risky:
                cells, changed = _neutralised_row(row, text_columns)
                result.neutralised_cells += changed
                writerow(cells)
                break
        else:
            writerow(row)
        count += 1
    result.rows = count
    return result
