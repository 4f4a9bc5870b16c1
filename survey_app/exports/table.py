"""What every writer takes: the variables of a table, and rows as tuples in the same order."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

#: A row: one value per variable; None is missing.
Row = tuple[Any, ...]
T = TypeVar("T")

NUMBER = "number"
TEXT = "text"
#: A calendar date (values are `datetime.date`): SPSS DATE11, Stata %td, Parquet date32, ISO 8601 in CSV.
DATE = "date"
KINDS = (NUMBER, TEXT, DATE)
#: The code of an item the skip rules did not ask (outside every option code and checked against every
#: number item's range before an export); a text column holds it as text. Stata gets `.a` instead.
NOT_ASKED = 99999
NOT_ASKED_LABEL = "Not asked (skip logic)"


@dataclass(frozen=True)
class Variable:
    """One column: its name, label, kind (number, text or date), storage width and value labels."""

    name: str
    label: str
    kind: str = NUMBER
    #: Longest value in bytes (UTF-8) for text variables; SPSS and Stata store text at this width.
    width: int = 0
    #: Whole numbers only (stored as integers in Parquet).
    integer: bool = False
    decimals: int = 0
    value_labels: Mapping[int, str] = field(default_factory=dict)
    #: Codes that mean "rather not say" or NOT_ASKED: declared as user-missing values in SPSS (a text
    #: variable's as text), extended missing values in a Stata number column (NOT_ASKED `.a`, the others
    #: `.b`, `.c`, ...).
    missing_codes: tuple[int, ...] = ()
    #: Lowest and highest valid value where every number between is valid (a number item; infinite ends
    #: for one without bounds); None: only the labelled codes that are not missing codes are valid.
    valid_range: tuple[float, float] | None = None
    measure: str = "scale"
    #: Text whose values can never start a spreadsheet formula (keys checked by the database, hex digests).
    formula_safe: bool = False
    #: What the codebook says about the variable beyond its name and label.
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"variable {self.name}: kind must be one of {', '.join(KINDS)}")
        if self.kind == TEXT and self.width < 1:
            raise ValueError(f"text variable {self.name} needs a width of at least 1 byte")


@dataclass
class WriteResult:
    """What a writer wrote: rows, cells neutralised (CSV) or text values cut to width (SPSS, Stata)."""

    rows: int = 0
    neutralised_cells: int = 0
    truncated_values: int = 0


ProgressCallback = Callable[[int], None]


def counted(rows: Iterable[T], on_progress: ProgressCallback | None, every: int = 5000) -> Iterator[T]:
    """Pass rows through, calling `on_progress(rows so far)` every `every` rows and at the end."""
    if on_progress is None:
        yield from rows
        return
    iterator = iter(rows)
    count = 0
    while chunk := list(itertools.islice(iterator, every)):
        yield from chunk
        count += len(chunk)
        if len(chunk) == every:
            on_progress(count)
    on_progress(count)


def cut_utf8(text: str, limit: int) -> bytes:
    """The UTF-8 bytes of `text`, cut to at most `limit` bytes without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return encoded
    return encoded[:limit].decode("utf-8", errors="ignore").encode("utf-8")
