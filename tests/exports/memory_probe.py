"""Write N synthetic long-layout rows with one writer; print the peak resident memory (KiB) of this process
and of the largest helper process it started (0 when none).

    python -m tests.exports.memory_probe parquet 20000 /tmp/out.parquet

Run in a fresh process per measurement by `test_streaming_memory.py`. Every row carries distinct text, so a
writer that kept the rows would grow with N.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterator
from pathlib import Path

from survey_app.exports.csv_out import write_csv
from survey_app.exports.parquet_out import write_parquet
from survey_app.exports.spss_stata import write_dta, write_sav
from survey_app.exports.table import TEXT, Row, Variable

VARIABLES = [
    Variable("pseudonym", "Pseudonym", TEXT, width=32, formula_safe=True),
    Variable("site", "Site", TEXT, width=16),
    Variable("session", "Session", integer=True),
    Variable("days_since_intake", "Days since intake", integer=True),
    Variable("item", "Item", TEXT, width=24, formula_safe=True),
    Variable("value", "Value"),
    Variable("value_text", "Text", TEXT, width=200),
    Variable("declined", "Declined", integer=True, value_labels={0: "No", 1: "Yes"}),
]


def rows(count: int) -> Iterator[Row]:
    """Rows like the long layout's, each with its own 120-character text."""
    for number in range(count):
        text = f"{number:08d}" + "answer text " * 9 + f"{number:04x}"[-4:]
        yield (
            f"{number // 50:032x}",
            "GNT",
            number // 50,
            number % 400,
            f"item_{number % 50}",
            number % 5 if number % 9 else None,
            text,
            number % 2,
        )


def main(file_format: str, count: int, out: Path) -> None:
    """Write `count` rows as `file_format` to `out`, then print the peak resident memories in KiB."""
    if file_format == "csv":
        with out.open("w", encoding="utf-8", newline="") as stream:
            write_csv(VARIABLES, rows(count), stream)
    else:
        writers = {"parquet": write_parquet, "sav": write_sav, "dta": write_dta}
        writers[file_format](VARIABLES, rows(count), out)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
