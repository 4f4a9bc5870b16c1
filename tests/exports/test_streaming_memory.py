"""Exports stream: the writers hold a bounded batch of rows, so their memory stays flat as the rows grow.

Parquet, SPSS and Stata run part of their work in a helper process: each process is measured on its own
(the exporting one, and the largest helper it started)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

TINY, SMALL, LARGE = 1_000, 50_000, 200_000
#: Allowed growth of the peak resident memory from SMALL to 4x as many rows: keeping the 150,000 extra rows
#: (each with 120 characters of its own text) would take well over 50 MB.
GROWTH_MB = 6
#: The most the rows in flight may take (Parquet: one row group of 16,384 rows, its arrays and encoders).
IN_FLIGHT_MB = 45


def peak_mb(file_format: str, count: int, folder: Path) -> tuple[float, float]:
    """Peak resident memory (MB) of a fresh process writing `count` rows, and of its largest helper."""
    out = folder / f"rows-{count}.{file_format}"
    command = [sys.executable, "-m", "tests.exports.memory_probe", file_format, str(count), str(out)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stat().st_size > 0
    own, helper = done.stdout.strip().splitlines()[-1].split()
    return int(own) / 1024, int(helper) / 1024


@pytest.mark.parametrize("file_format", ["csv", "parquet", "sav", "dta"])
def test_peak_memory_stays_flat_as_the_rows_grow(file_format: str, tmp_path: Path) -> None:
    peaks = [peak_mb(file_format, count, tmp_path) for count in (TINY, SMALL, LARGE)]
    for process, (tiny, small, large) in zip(
        ("exporting process", "helper"), zip(*peaks, strict=True), strict=True
    ):
        sizes = f"{tiny:.0f} / {small:.0f} / {large:.0f} MB for {TINY:,} / {SMALL:,} / {LARGE:,} rows"
        assert large - small < GROWTH_MB, f"{file_format}: the {process} grows with the rows: {sizes}"
        assert large - tiny < IN_FLIGHT_MB, f"{file_format}: the {process} holds too many rows: {sizes}"
