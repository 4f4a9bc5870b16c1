"""In a helper process: the one-row SPSS or Stata file pyreadstat writes to carry a file's dictionary.

`spss_stata` sends the columns (name -> the template value) and pyreadstat's options; this process builds the
one-row pandas frame, lets pyreadstat write it, and exits (see `helper_process`). pandas is imported without
pyarrow: pandas loads pyarrow (some 60 MB) whenever it is installed, only to offer Arrow-backed columns, and a
one-row frame of numbers and text needs none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from survey_app.exports.helper_process import HelperProcess, serve, without_modules

#: The pyreadstat writer of each format.
WRITERS = {"sav": "write_sav", "dta": "write_dta"}


def write_dictionary(file_format: str, path: str, columns: dict[str, Any], options: dict[str, Any]) -> None:
    """Have pyreadstat write a one-row `file_format` file at `path`, in a helper process."""
    with HelperProcess("survey_app.exports.readstat_dictionary") as helper:
        helper.send((file_format, path, columns, options))
        helper.finish()


def _write_here(header: tuple[str, str, dict[str, Any], dict[str, Any]], messages: Iterator[Any]) -> None:
    file_format, path, columns, options = header
    import pandas as pd
    import pyreadstat

    frame = pd.DataFrame({name: [value] for name, value in columns.items()})
    getattr(pyreadstat, WRITERS[file_format])(frame, path, **options)


if __name__ == "__main__":
    without_modules("pyarrow")
    serve(_write_here)
