"""Parquet (pyarrow, zstd), written a row group at a time; labels travel in the field metadata.

Memory holds one row group: its values as Python lists, then as Arrow arrays. The arrays are built from
buffers (numpy), not with `pyarrow.array`: that function imports pandas whenever it is installed (to recognise
pandas objects), which alone would add some 60 MB to every export process.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from survey_app.exports.table import NUMBER, Row, Variable, WriteResult

ROW_GROUP = 16_384


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


def _validity(values: list[Any]) -> tuple[Any, int]:
    """The Arrow validity bitmap of `values` (None when nothing is missing) and the number of nulls."""
    import numpy as np
    import pyarrow as pa

    if None not in values:
        return None, 0
    present = np.fromiter((value is not None for value in values), dtype=bool, count=len(values))
    return pa.py_buffer(np.packbits(present, bitorder="little")), len(values) - int(present.sum())


def arrow_array(values: list[Any], kind: Any) -> Any:
    """An Arrow int64, float64 or string array of `values` (None is null), built from buffers."""
    import numpy as np
    import pyarrow as pa

    validity, nulls = _validity(values)
    count = len(values)
    if pa.types.is_string(kind):
        encoded = [b"" if value is None else value.encode("utf-8") for value in values]
        offsets = np.zeros(count + 1, dtype=np.int32)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=count), out=offsets[1:])
        buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    elif pa.types.is_int64(kind):
        filled = values if not nulls else [0 if value is None else value for value in values]
        buffers = [validity, pa.py_buffer(np.array(filled, dtype=np.int64))]
    else:
        buffers = [validity, pa.py_buffer(np.array(values, dtype=np.float64))]  # None -> NaN, masked
    return pa.Array.from_buffers(kind, count, buffers, null_count=nulls)


def write_parquet(
    variables: Sequence[Variable], rows: Iterable[Row], path: Path, *, metadata: dict[str, str] | None = None
) -> WriteResult:
    """Write the rows to a Parquet file at `path`, one row group per 16,384 rows."""
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
            arrays = [arrow_array(columns[index], kind) for index, kind in enumerate(kinds)]
            del columns
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            result.rows += len(arrays[0]) if arrays else 0
            if len(arrays[0]) < ROW_GROUP:
                break
    return result
