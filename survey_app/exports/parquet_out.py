"""Parquet (pyarrow, zstd), written a row group at a time; labels travel in the field metadata."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from survey_app.exports.table import NUMBER, Row, Variable, WriteResult

ROW_GROUP = 65_536


def _schema(variables: Sequence[Variable]) -> Any:
    import pyarrow as pa

    fields = []
    for variable in variables:
        number = pa.int64() if variable.integer else pa.float64()
        kind = number if variable.kind == NUMBER else pa.string()
        metadata = {"label": variable.label}
        if variable.value_labels:
            metadata["value_labels"] = json.dumps({str(k): v for k, v in variable.value_labels.items()})
        fields.append(pa.field(variable.name, kind, nullable=True, metadata=metadata))
    return pa.schema(fields)


def write_parquet(
    variables: Sequence[Variable], rows: Iterable[Row], path: Path, *, metadata: dict[str, str] | None = None
) -> WriteResult:
    """Write the rows to a Parquet file at `path`, one row group per 65,536 rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(variables)
    if metadata:
        schema = schema.with_metadata(metadata)
    result = WriteResult()
    width = len(variables)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        columns: list[list[Any]] = [[] for _ in range(width)]
        pending = 0

        def flush() -> None:
            arrays = [pa.array(values, type=schema.field(i).type) for i, values in enumerate(columns)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            for values in columns:
                values.clear()

        for row in rows:
            for index in range(width):
                columns[index].append(row[index])
            pending += 1
            result.rows += 1
            if pending == ROW_GROUP:
                flush()
                pending = 0
        if pending or result.rows == 0:
            flush()
    return result
