"""The Makefile's `make run`: the port it serves on can be chosen."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import PROJECT_ROOT


def planned_run_command(**env: str) -> str:
    """The `flask run` line `make run` would execute (make -n prints commands without running them)."""
    environ = {key: value for key, value in os.environ.items() if key not in ("FLASK_RUN_PORT", "PORT")}
    planned = subprocess.run(
        ["make", "-n", "run"], cwd=PROJECT_ROOT, env={**environ, **env}, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    return next(line for line in planned.stdout.splitlines() if " run --host " in line)


@pytest.mark.parametrize(
    ("env", "port"), [({}, "5000"), ({"FLASK_RUN_PORT": "5409"}, "5409"), ({"PORT": "5408"}, "5408")]
)
def test_make_run_serves_on_5000_unless_another_port_is_asked_for(env: dict[str, str], port: str) -> None:
    assert planned_run_command(**env).endswith(f"--host 127.0.0.1 --port {port}")
