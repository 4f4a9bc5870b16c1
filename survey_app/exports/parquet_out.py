"""Parquet (pyarrow, zstd), written a row group at a time; labels travel in the field metadata.

Numbers are int64 or double, dates date32 (days since 1970-01-01), everything else strings. Codes that stand
for a missing answer ("rather not say", NOT_ASKED) are listed in the field's `missing_codes`.

pyarrow runs in a helper process (`helper_process`): the exporting process sends it the rows in batches, so
pyarrow never loads there. The helper holds one row group: its values as Python lists, then as Arrow arrays.
It runs without numpy and pandas, which pyarrow does not need to write Parquet but imports whenever they are
installed (`pyarrow.array` looks for pandas objects): they would add some 30 MB to the helper.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from survey_app.exports.helper_process import HelperProcess, batches, serve, without_modules
from survey_app.exports.table import DATE, NUMBER, Row, Variable, WriteResult

ROW_GROUP = 16_384
#: Rows per message to the helper: a few hundred kilobytes in the pipe at a time.
MESSAGE_ROWS = 2_048


def _schema(variables: Sequence[Variable]) -> Any:
    import pyarrow as pa

    fields = []
    for variable in variables:
        number = pa.int64() if variable.integer else pa.float64()
        kind = {NUMBER: number, DATE: pa.date32()}.get(variable.kind, pa.string())
        metadata = {"label": variable.label}
        if variable.value_labels:
            metadata["value_labels"] = json.dumps({str(k): v for k, v in variable.value_labels.items()})
        if variable.missing_codes:
            metadata["missing_codes"] = json.dumps(list(variable.missing_codes))
        fields.append(pa.field(variable.name, kind, nullable=True, metadata=metadata))
    return pa.schema(fields)


def write_parquet(
    variables: Sequence[Variable], rows: Iterable[Row], path: Path, *, metadata: dict[str, str] | None = None
) -> WriteResult:
    """Write the rows to a Parquet file at `path`, one row group per 16,384 rows (pyarrow in a helper)."""
    with HelperProcess("survey_app.exports.parquet_out") as helper:
        helper.send((list(variables), str(path), metadata))
        for batch in batches(rows, MESSAGE_ROWS):
            helper.send(batch)
        result: WriteResult = helper.finish()
    return result


def write_row_groups(
    variables: Sequence[Variable], rows: Iterable[Row], path: Path, metadata: dict[str, str] | None
) -> WriteResult:
    """In the helper: write the rows to `path` with pyarrow, a row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(variables)
    if metadata:
        schema = schema.with_metadata(metadata)
    kinds = [field.type for field in schema]
    result = WriteResult()
    iterator = iter(rows)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        while True:
            group = list(itertools.islice(iterator, ROW_GROUP))
            if not group and result.rows:
                break
            columns = [list(values) for values in zip(*group, strict=True)] or [[] for _ in kinds]
            del group
            arrays = [pa.array(values, type=kind) for values, kind in zip(columns, kinds, strict=True)]
            del columns
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            result.rows += len(arrays[0]) if arrays else 0
            if len(arrays[0]) < ROW_GROUP:
                break
    return result


def _serve_batches(header: tuple[list[Variable], str, dict[str, str] | None], messages: Iterator[Any]) -> Any:
    variables, path, metadata = header
    return write_row_groups(variables, itertools.chain.from_iterable(messages), Path(path), metadata)


if __name__ == "__main__":
    without_modules("numpy", "pandas")
    # jemalloc gives the memory of a written row group back; Arrow's default (mimalloc) keeps some 20 MB of
    # it and the C library's allocator creeps up with the row groups. Arrow reads this setting when it first
    # allocates, so it is set before the import.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    serve(_serve_batches)
