"""The benchmark and reliability runs' own helpers, which `make bench` and `make reliability` start from."""

from __future__ import annotations

import pytest

from bench.demo_db import POSTGRES_SERVER, postgres_available


def test_whether_postgresql_answers_is_a_yes_or_no(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(postgres_available(), bool)
    monkeypatch.setattr("bench.demo_db.POSTGRES_SERVER", POSTGRES_SERVER.rsplit(":", 1)[0] + ":9/postgres")
    assert postgres_available() is False  # nothing listens on port 9: a "no", not a crash
