"""SPSS `.sav` and Stata `.dta`, streamed: pyreadstat writes the dictionary, rows are appended as they come.

pyreadstat (ReadStat) only writes a whole data frame, which would hold every row in memory. So it writes a
one-row template carrying the full dictionary (names, variable labels, value labels, formats, measures, string
widths); the template row is replaced by the real rows, encoded the way ReadStat encodes them, and the row
count (and, in Stata, the offsets of the sections after the data) are patched at the end. Memory stays flat.
The template is written in a short-lived helper process (`readstat_dictionary`), so pandas and pyreadstat
never load in the exporting process; the rows are encoded here.

- SPSS: system file with bytecode compression (what SPSS writes by default), UTF-8, bias 100.
- Stata: format 118 (Stata 14 and later), numbers as doubles, text as strN (N <= 2045 bytes); a longer text
  value is cut at a character boundary and counted (the codebook says so).
- NOT_ASKED (an item the skip rules did not ask) is a user-missing value in SPSS, like the "rather not say"
  codes (SPSS takes three discrete values, or one range and one value: more codes are declared as a range
  where no valid value lies in it, else as many as fit, with a warning in the log; `sav_missing`). In Stata
  it is the extended missing value `.a` and the "rather not say" codes are `.b`, `.c`, ... (ascending code
  order), each labelled with its code's label.
- Dates are numbers with a date format: in SPSS seconds since 14 October 1582 shown as DATE11, in Stata days
  since 1 January 1960 shown as %td.
"""

from __future__ import annotations

import datetime as dt
import logging
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from survey_app.exports.names import spss_names, stata_names
from survey_app.exports.readstat_dictionary import write_dictionary
from survey_app.exports.table import (
    DATE,
    NOT_ASKED,
    NUMBER,
    TEXT,
    Row,
    Variable,
    WriteResult,
    cut_utf8,
)

SAV_LABEL_BYTES = 256
SAV_VALUE_LABEL_BYTES = 120
DTA_LABEL_CHARACTERS = 80
DTA_MAX_STRING = 2045
DTA_VERSION = 14  # file format 118
SAV_DATE_FORMAT = "DATE11"
DTA_DATE_FORMAT = "%td"
_SAV_EPOCH = dt.date(1582, 10, 14)
_DTA_EPOCH = dt.date(1960, 1, 1)
#: SPSS declares at most three discrete user-missing values, or one range and one discrete value.
SAV_MISSING_VALUES = 3
#: Variables Stata/BE opens; Stata/SE and MP open up to DTA_MAX_VARIABLES, the most file format 118 holds.
STATA_BE_VARIABLES = 2048
DTA_MAX_VARIABLES = 32767

log = logging.getLogger(__name__)


class TemplateError(RuntimeError):
    """The dictionary pyreadstat wrote is not laid out as expected (a pyreadstat change)."""


def _template_row(variables: Sequence[Variable], names: dict[str, str], max_width: int) -> dict[str, Any]:
    """The template's one row: text as wide as its variable (so ReadStat gives it that width), numbers 0."""
    return {names[v.name]: "x" * min(v.width, max_width) if v.kind == TEXT else 0.0 for v in variables}


def _labels(variables: Sequence[Variable], names: dict[str, str], limit: int) -> dict[str, str | None]:
    return {names[v.name]: cut_utf8(v.label, limit).decode("utf-8") for v in variables if v.label}


def _value_labels(variables: Sequence[Variable], names: dict[str, str]) -> dict[str, dict[float, str]]:
    """The value labels of the number variables (Stata labels numbers only)."""
    return {
        names[v.name]: {
            float(code): cut_utf8(text, SAV_VALUE_LABEL_BYTES).decode("utf-8")
            for code, text in v.value_labels.items()
        }
        for v in variables
        if v.value_labels and v.kind == NUMBER
    }


def _sav_value_labels(variables: Sequence[Variable], names: dict[str, str]) -> dict[str, dict[Any, str]]:
    """The value labels of SPSS, which labels text too: a text variable's codes are labelled as text (the
    not-asked code of a multiple choice)."""
    labels: dict[str, dict[Any, str]] = dict(_value_labels(variables, names))
    for v in variables:
        if v.value_labels and v.kind == TEXT:
            labels[names[v.name]] = {
                str(code): cut_utf8(text, SAV_VALUE_LABEL_BYTES).decode("utf-8")
                for code, text in v.value_labels.items()
            }
    return labels


# ---------------------------------------------------------------- SPSS
_SAV_MISSING = struct.pack("<Q", 0xFFEFFFFFFFFFFFFF)
_SPACES = b" " * 8


def _sav_storage(width: int) -> int:
    """Bytes a string of `width` takes in a case (ReadStat's layout: 252-byte very long string segments)."""
    if width > 255:
        segments = (width + 251) // 252
        return (segments - 1) * 256 + ((width - (segments - 1) * 252) + 7) // 8 * 8
    return (width + 7) // 8 * 8


#: The extension record (type 7) holding the number of cases as a 64-bit integer, after the byte order.
_SAV_EXTENDED_CASES = 16


def _sav_dictionary(data: bytes) -> tuple[int, dict[int, int]]:
    """Offset of the first case (just after the dictionary termination record), and where the data of each
    extension record (type 7) starts, by subtype."""
    if data[:4] != b"$FL2":
        raise TemplateError("not an SPSS system file")
    position = 176
    extensions: dict[int, int] = {}
    read = struct.Struct("<i").unpack_from
    while True:
        (record,) = read(data, position)
        position += 4
        if record == 2:
            has_label, missing = read(data, position + 4)[0], read(data, position + 8)[0]
            position += 28
            if has_label:
                position += 4 + (read(data, position)[0] + 3) // 4 * 4
            position += abs(missing) * 8
        elif record == 3:
            (count,) = read(data, position)
            position += 4
            for _ in range(count):
                position += 8
                position += (data[position] + 1 + 7) // 8 * 8
        elif record == 4:
            position += 4 + 4 * read(data, position)[0]
        elif record == 6:
            position += 4 + 80 * read(data, position)[0]
        elif record == 7:
            subtype, size, count = struct.unpack_from("<3i", data, position)
            extensions[subtype] = position + 12
            position += 12 + size * count
        elif record == 999:
            return position + 4, extensions
        else:
            raise TemplateError(f"unexpected SPSS record type {record}")


#: A cell as compressed: its command bytes, the data unit of each command (b"" for a command without
#: one) and whether its text was cut to the variable's width.
_Cell = tuple[bytes, tuple[bytes, ...], bool]
#: Distinct values whose compressed cells are remembered per variable (codes, keys and site codes repeat),
#: for numbers and for text variables of at most CACHED_TEXT_BYTES (wider ones hold free text).
CELL_CACHE = 4096
CACHED_TEXT_BYTES = 64
_MISSING_CELL: _Cell = (b"\xff", (b"",), False)


def _sav_number(value: Any) -> _Cell:
    if value is None:
        return _MISSING_CELL
    if isinstance(value, dt.date):
        value = (value - _SAV_EPOCH).days * 86400
    number = float(value)
    if number.is_integer() and -100 < number < 152:
        return bytes((int(number) + 100,)), (b"",), False
    return b"\xfd", (struct.pack("<d", number),), False


def _sav_text(value: Any, width: int, storage: int) -> _Cell:
    encoded = b"" if value is None else str(value).encode("utf-8")
    truncated = len(encoded) > width
    if truncated:
        encoded = cut_utf8(str(value), width)
    if width > 255:
        pieces = [encoded[start : start + 255] for start in range(0, len(encoded), 255)]
        encoded = b"".join(piece.ljust(256, b" ") for piece in pieces)
    padded = encoded.ljust(storage, b" ")
    commands = bytearray()
    units = []
    for start in range(0, storage, 8):
        unit = padded[start : start + 8]
        commands.append(254 if unit == _SPACES else 253)
        units.append(b"" if unit == _SPACES else unit)
    return bytes(commands), tuple(units), truncated


def _sav_blocks(commands: bytearray, units: list[bytes], out: BinaryIO, *, final: bool = False) -> None:
    """Write the complete blocks (eight commands, then the data units of those commands) and keep the rest;
    `final` ends the data (command 252) and pads the last block."""
    if final:
        commands.append(252)
        units.append(b"")
        padding = -len(commands) % 8
        commands.extend(bytes(padding))
        units.extend([b""] * padding)
    whole = len(commands) - len(commands) % 8
    pieces: list[bytes] = []
    for start in range(0, whole, 8):
        pieces.append(bytes(commands[start : start + 8]))
        pieces.extend(units[start : start + 8])
    out.write(b"".join(pieces))
    del commands[:whole]
    del units[:whole]


def _write_sav_cases(
    out: BinaryIO, rows: Iterable[Row], layout: list[tuple[bool, int, int]], result: WriteResult
) -> None:
    """SPSS bytecode compression of the cases: one command byte per 8-byte unit, in blocks of eight."""
    commands = bytearray()
    units: list[bytes] = []
    limits = [CELL_CACHE if numeric or storage <= CACHED_TEXT_BYTES else 0 for numeric, _, storage in layout]
    columns: list[tuple[bool, int, int, dict[Any, _Cell], int]] = [
        (*spec, {}, limit) for spec, limit in zip(layout, limits, strict=True)
    ]
    for row in rows:
        for value, (numeric, width, storage, cache, limit) in zip(row, columns, strict=True):
            cell = cache.get(value)
            if cell is None:
                cell = _sav_number(value) if numeric else _sav_text(value, width, storage)
                if len(cache) < limit:
                    cache[value] = cell
            commands += cell[0]
            units += cell[1]
            if cell[2]:
                result.truncated_values += 1
        result.rows += 1
        if len(commands) >= 65536:
            _sav_blocks(commands, units, out)
    _sav_blocks(commands, units, out, final=True)


@dataclass(frozen=True)
class SavMissing:
    """How a variable's missing codes are declared in SPSS: discrete values, at most one range, and the codes
    that could not be declared."""

    values: tuple[int, ...] = ()
    range: tuple[int, int] | None = None
    not_declared: tuple[int, ...] = ()


def _holds_valid_value(variable: Variable, low: int, high: int) -> bool:
    """Whether a valid value of the variable lies between `low` and `high` (inclusive)."""
    if variable.valid_range is not None:
        lowest, highest = variable.valid_range
        if lowest <= high and low <= highest:
            return True
    missing = set(variable.missing_codes)
    return any(low <= code <= high for code in variable.value_labels if code not in missing)


def sav_missing(variable: Variable) -> SavMissing:
    """The SPSS declaration of a variable's missing codes: up to three values; else the "rather not say"
    codes as a range (if no valid value lies in it) and NOT_ASKED as the value; else as many as fit (the
    not-asked code and the lowest others), the rest not declared."""
    codes = tuple(sorted(variable.missing_codes))
    if variable.kind == DATE or len(codes) <= SAV_MISSING_VALUES:
        return SavMissing(() if variable.kind == DATE else codes)
    declined = [code for code in codes if code != NOT_ASKED]
    not_asked = tuple(code for code in codes if code == NOT_ASKED)
    if not _holds_valid_value(variable, declined[0], declined[-1]):
        return SavMissing(not_asked, (declined[0], declined[-1]))
    room = SAV_MISSING_VALUES - len(not_asked)
    return SavMissing(tuple(sorted((*declined[:room], *not_asked))), None, tuple(declined[room:]))


def _sav_missing_ranges(variables: Sequence[Variable], names: dict[str, str]) -> dict[str, list[Any]]:
    """pyreadstat's `missing_ranges`; logs a warning for each variable with codes SPSS cannot declare."""
    ranges: dict[str, list[Any]] = {}
    for variable in variables:
        declared = sav_missing(variable)
        if declared.not_declared:
            log.warning(
                "SPSS file: %s declares missing codes %s but not %s (no range fits them)",
                variable.name,
                ", ".join(map(str, declared.values)),
                ", ".join(map(str, declared.not_declared)),
            )
        spec: list[Any] = []
        if declared.range is not None:
            spec.append({"lo": float(declared.range[0]), "hi": float(declared.range[1])})
        spec += [float(code) if variable.kind == NUMBER else str(code) for code in declared.values]
        if spec:
            ranges[names[variable.name]] = spec
    return ranges


def _sav_format(variable: Variable) -> str:
    if variable.kind == DATE:
        return SAV_DATE_FORMAT
    if variable.kind == NUMBER:
        return f"F{max(8, variable.decimals + 3)}.{variable.decimals}"
    return f"A{variable.width}"


def write_sav(
    variables: Sequence[Variable], rows: Iterable[Row], path: Path, *, file_label: str = ""
) -> WriteResult:
    """Write an SPSS system file with variable labels, value labels and formats, streaming the rows."""
    names = spss_names(variables)
    write_dictionary(
        "sav",
        str(path),
        _template_row(variables, names, 32767),
        dict(
            file_label=file_label[:64],
            column_labels=_labels(variables, names, SAV_LABEL_BYTES),
            variable_value_labels=_sav_value_labels(variables, names),
            variable_format={names[v.name]: _sav_format(v) for v in variables},
            variable_measure={names[v.name]: v.measure for v in variables},
            missing_ranges=_sav_missing_ranges(variables, names),
            row_compress=True,
        ),
    )
    template = path.read_bytes()
    start, extensions = _sav_dictionary(template)
    if _SAV_EXTENDED_CASES not in extensions:
        raise TemplateError("the SPSS dictionary has no extended number-of-cases record")
    (case_units,) = struct.unpack_from("<i", template, 68)
    expected = sum(8 if v.kind != TEXT else _sav_storage(min(v.width, 32767)) for v in variables)
    if case_units * 8 != expected:
        raise TemplateError(f"SPSS case size {case_units * 8} bytes, expected {expected}")
    result = WriteResult()
    layout = [(v.kind != TEXT, min(v.width, 32767), _sav_storage(min(v.width, 32767))) for v in variables]
    with path.open("r+b") as out:
        out.truncate(start)
        out.seek(start)
        _write_sav_cases(out, rows, layout, result)
        out.seek(80)
        out.write(struct.pack("<i", result.rows))
        out.seek(extensions[_SAV_EXTENDED_CASES] + 8)  # after the 64-bit byte order (1)
        out.write(struct.pack("<q", result.rows))
    return result


# ---------------------------------------------------------------- Stata
_DTA_MISSING_DOUBLE = struct.unpack("<d", struct.pack("<Q", 0x7FE0000000000000))[0]
#: The letters of Stata's extended missing values `.a` to `.z`: `.a` stands for NOT_ASKED, the "rather not
#: say" codes of a variable take `.b`, `.c`, ... in ascending order of code.
_DTA_TAGS = "abcdefghijklmnopqrstuvwxyz"
_DTA_DOUBLE = 65526


def _dta_tag_double(tag: str) -> float:
    """The double Stata stores for the extended missing value `.tag`."""
    step = _DTA_TAGS.index(tag) + 1
    value: float = struct.unpack("<d", struct.pack("<Q", 0x7FE0000000000000 + (step << 40)))[0]
    return value


def stata_missing_tags(variable: Variable) -> dict[int, str]:
    """Code -> letter of the Stata extended missing value that stands for it, for a number variable's
    missing codes: NOT_ASKED is `a`, the declined codes `b`, `c`, ... (a code past `z` stays a number)."""
    if variable.kind != NUMBER:
        return {}
    declined = sorted(code for code in variable.missing_codes if code != NOT_ASKED)
    tags = dict(zip(declined, _DTA_TAGS[1:], strict=False))
    if NOT_ASKED in variable.missing_codes:
        tags[NOT_ASKED] = _DTA_TAGS[0]
    return tags


def _dta_layout(data: bytes) -> tuple[int, list[int], int, int]:
    """(position of the map, the 14 map offsets, position of N, number of variables) of a 118 file."""
    if not data.startswith(b"<stata_dta><header><release>118</release>"):
        raise TemplateError("not a Stata 118 file")
    map_at = data.index(b"</header><map>") + len(b"</header><map>")
    offsets = list(struct.unpack_from("<14Q", data, map_at))
    n_at = data.index(b"<N>") + 3
    (variables,) = struct.unpack_from("<H", data, data.index(b"<K>") + 3)
    return map_at, offsets, n_at, variables


def _dta_value_labels(
    variables: Sequence[Variable], names: dict[str, str], tags: dict[str, dict[int, str]]
) -> dict[str, dict[float | str, str]]:
    """The value labels, each missing code's label on the extended missing value that stands for it
    (`tags`: each variable's `stata_missing_tags`, by column name)."""
    by_name = {names[name]: tagged for name, tagged in tags.items()}
    labels: dict[str, dict[float | str, str]] = {}
    for name, values in _value_labels(variables, names).items():
        tagged = by_name[name]
        labels[name] = {tagged.get(int(code), code): text for code, text in values.items()}
    return labels


def write_dta(
    variables: Sequence[Variable], rows: Iterable[Row], path: Path, *, file_label: str = ""
) -> WriteResult:
    """Write a Stata 118 file with variable labels and value labels, streaming the rows."""
    names = stata_names(variables)
    tags = {v.name: stata_missing_tags(v) for v in variables}
    write_dictionary(
        "dta",
        str(path),
        _template_row(variables, names, DTA_MAX_STRING - 1),
        dict(
            file_label=file_label[:80],
            column_labels={
                k: (v or "")[:DTA_LABEL_CHARACTERS] for k, v in _labels(variables, names, 320).items()
            },
            variable_value_labels=_dta_value_labels(variables, names, tags),
            missing_user_values={
                names[name]: sorted(tagged.values()) for name, tagged in tags.items() if tagged
            },
            variable_format={names[v.name]: DTA_DATE_FORMAT for v in variables if v.kind == DATE},
            version=DTA_VERSION,
        ),
    )
    template = path.read_bytes()
    map_at, offsets, n_at, count = _dta_layout(template)
    types = struct.unpack_from(f"<{count}H", template, offsets[2] + len(b"<variable_types>"))
    widths = [min(v.width, DTA_MAX_STRING - 1) for v in variables]
    expected = tuple(
        _DTA_DOUBLE if v.kind != TEXT else width for v, width in zip(variables, widths, strict=True)
    )
    if types != expected:
        raise TemplateError(f"Stata variable types {types}, expected {expected}")
    row_format = struct.Struct("<" + "".join("d" if t == _DTA_DOUBLE else f"{t}s" for t in types))
    data_start = offsets[9] + len(b"<data>")
    data_end = offsets[10] - len(b"</data>")
    tail = template[data_end:]
    result = WriteResult()
    text_columns = [
        (index, width)
        for index, (v, width) in enumerate(zip(variables, widths, strict=True))
        if v.kind == TEXT
    ]
    number_columns = [index for index, v in enumerate(variables) if v.kind == NUMBER]
    tagged_columns = [
        (index, {code: _dta_tag_double(tag) for code, tag in tags[v.name].items()})
        for index, v in enumerate(variables)
        if tags[v.name]
    ]
    date_columns = [index for index, v in enumerate(variables) if v.kind == DATE]
    with path.open("r+b") as out:
        out.truncate(data_start)
        out.seek(data_start)
        pack = row_format.pack
        for row in rows:
            cells = list(row)
            for index, doubles in tagged_columns:
                tagged = doubles.get(cells[index])
                if tagged is not None:
                    cells[index] = tagged
            for index in number_columns:
                cells[index] = _DTA_MISSING_DOUBLE if cells[index] is None else float(cells[index])
            for index in date_columns:
                day = cells[index]
                cells[index] = _DTA_MISSING_DOUBLE if day is None else float((day - _DTA_EPOCH).days)
            for index, width in text_columns:
                encoded = b"" if cells[index] is None else str(cells[index]).encode("utf-8")
                if len(encoded) > width:
                    encoded = cut_utf8(str(cells[index]), width)
                    result.truncated_values += 1
                cells[index] = encoded
            out.write(pack(*cells))
            result.rows += 1
        out.write(tail)
        shift = result.rows * row_format.size - (data_end - data_start)
        for index in (10, 11, 12, 13):
            offsets[index] += shift
        out.seek(map_at)
        out.write(struct.pack("<14Q", *offsets))
        out.seek(n_at)
        out.write(struct.pack("<Q", result.rows))
    return result


def dta_width_note(variable_count: int) -> str | None:
    """The codebook's warning for a .dta file that Stata/BE cannot open (None when every edition can)."""
    if variable_count <= STATA_BE_VARIABLES:
        return None
    return (
        f"This Stata file has {variable_count:,} variables: Stata/BE opens at most {STATA_BE_VARIABLES:,}. "
        "Open it in Stata/SE or MP, or export again filtered by questionnaire or timepoint."
    )
