"""Heavy libraries load only where they are used: not when the app starts, not in a process that exports.

Each check runs in a fresh interpreter: the test process itself has loaded everything by now.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

#: Libraries of tens of megabytes each that only reports, exports or migrations use (fhir: the test suite's
#: FHIR validator), and numpy, which comes with pandas and pyarrow.
HEAVY = {"weasyprint", "pandas", "pyarrow", "pyreadstat", "numpy", "fhir", "alembic", "flask_migrate"}


def heavy_modules_after(code: str) -> set[str]:
    """The heavy libraries a fresh interpreter has imported after running `code`."""
    script = f"{code}\nimport sys\nprint(' '.join({{name.split('.')[0] for name in sys.modules}}))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split()) & HEAVY


def test_creating_the_app_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    code = (
        "from survey_app import create_app\n"
        f"create_app('testing', DATABASE_URL='sqlite:///{tmp_path}/app.sqlite3', "
        f"SURVEY_INSTANCE_PATH='{tmp_path}/instance')"
    )
    assert heavy_modules_after(code) == set()


@pytest.mark.parametrize("file_format", ["parquet", "sav", "dta"])
def test_the_exporting_process_never_imports_the_format_libraries(file_format: str, tmp_path: Path) -> None:
    out = tmp_path / f"rows.{file_format}"
    code = (
        "from pathlib import Path\n"
        "from tests.exports.memory_probe import main\n"
        f"main({file_format!r}, 500, Path({str(out)!r}))"
    )
    assert heavy_modules_after(code) == set()
    assert out.stat().st_size > 0
