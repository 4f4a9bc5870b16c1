"""Calendar dates, where a project may export them, are dates in every format; elsewhere days since intake."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from tests.exports.conftest import World

LONG_MIX = ("--project", "Ghent evaluation", "--layout", "long", "--questionnaire", "mix")
INTAKE, SUBMITTED, LAST_USE = dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2025, 12, 25)


def _codebook_types(path: Path) -> dict[str, str]:
    codebook = json.loads(companion_json(path).read_text(encoding="utf-8"))
    return {v["name"]: v["type"] for v in codebook["variables"]}


def companion_json(path: Path) -> Path:
    return path.with_name(f"{path.stem}.codebook.json")


@pytest.fixture
def calendar_world(export_world: World) -> World:
    """The research world with calendar dates and identifiers allowed for the project."""
    export_world.project.allow_calendar_dates = True
    export_world.project.allow_identifiers = True
    return export_world


def test_long_spss_file_has_dates_in_the_date_format(
    calendar_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG_MIX, "--format", "sav", out="long.sav")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(path))
    for name in ("submitted_on", "intake_date", "value_date", "date_of_birth"):
        assert meta.original_variable_types[name].startswith("DATE"), name
    assert set(frame["submitted_on"]) == {SUBMITTED} and set(frame["intake_date"]) == {INTAKE}
    last_use = frame[frame["item"] == "mix_last_use"].iloc[0]
    assert last_use["value_date"] == LAST_USE and last_use["value"] == -11
    assert _codebook_types(path)["value_date"] == "date"


def test_long_stata_file_has_dates_in_the_td_format(
    calendar_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG_MIX, "--format", "dta", out="long.dta")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_dta(str(path))
    for name in ("submitted_on", "intake_date", "value_date"):
        assert meta.original_variable_types[name] == "%td", name
    assert set(frame["submitted_on"]) == {SUBMITTED} and set(frame["intake_date"]) == {INTAKE}
    assert frame[frame["item"] == "mix_last_use"].iloc[0]["value_date"] == LAST_USE


def test_long_parquet_file_has_date32_columns(calendar_world: World, run_export: Callable[..., Any]) -> None:
    result, path = run_export(*LONG_MIX, "--format", "parquet", out="long.parquet")
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    for name in ("submitted_on", "intake_date", "value_date", "date_of_birth"):
        assert table.schema.field(name).type == pa.date32(), name
    rows = table.to_pylist()
    assert {row["submitted_on"] for row in rows} == {SUBMITTED}
    assert next(row for row in rows if row["item"] == "mix_last_use")["value_date"] == LAST_USE


def test_long_csv_has_iso_dates_and_value_text_no_longer_repeats_them(
    calendar_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG_MIX, "--format", "csv")
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as handle:
        rows = {row["item"]: row for row in csv.DictReader(handle)}
    last_use = rows["mix_last_use"]
    assert (last_use["value"], last_use["value_date"], last_use["value_text"]) == ("-11", "2025-12-25", "")
    assert last_use["submitted_on"] == "2026-01-06" and last_use["intake_date"] == "2026-01-05"


def test_without_the_allowance_no_date_column_is_written(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG_MIX, "--format", "parquet", out="long.parquet")
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    assert not any(field.type == pa.date32() for field in table.schema)
    assert "value_date" not in table.schema.names and "date_of_birth" not in table.schema.names


def test_fhir_responses_carry_the_dates_where_allowed(
    calendar_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG_MIX, "--format", "fhir", out="fhir.json")
    assert result.exit_code == 0, result.output
    response = json.loads(path.read_text(encoding="utf-8"))["entry"][0]["resource"]
    answers = {item["linkId"]: item["answer"] for group in response["item"] for item in group["item"]}
    assert response["authored"] == "2026-01-06" and answers["mix_last_use"] == [{"valueDate": "2025-12-25"}]


WIDE_MIX = ("--project", "Ghent evaluation", "--layout", "wide", "--questionnaire", "mix")


def test_wide_layout_has_the_dates_where_allowed(
    calendar_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE_MIX, "--format", "parquet", out="wide.parquet")
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    for name in ("intake_date", "submitted_on_t0", "mix_last_use_date_t0", "date_of_birth"):
        assert table.schema.field(name).type == pa.date32(), name
    (alice,) = table.to_pylist()
    assert (alice["intake_date"], alice["submitted_on_t0"]) == (INTAKE, SUBMITTED)
    assert (alice["mix_last_use_t0"], alice["mix_last_use_date_t0"]) == (-11, LAST_USE)
    assert _codebook_types(path)["submitted_on_t0"] == "date"


def test_wide_layout_without_the_allowance_has_days_since_intake_only(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE_MIX, "--format", "parquet", out="wide.parquet")
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    assert not any(field.type == pa.date32() for field in table.schema)
    assert not any(name.startswith(("submitted_on", "intake_date")) for name in table.schema.names)
    (alice,) = table.to_pylist()
    assert (alice["days_since_intake_t0"], alice["mix_last_use_t0"]) == (1, -11)
    assert "mix_last_use_date_t0" not in alice


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_wide_spss_and_stata_files_have_the_dates_in_date_formats(
    calendar_world: World, run_export: Callable[..., Any], fmt: str
) -> None:
    result, path = run_export(*WIDE_MIX, "--format", fmt, out=f"wide.{fmt}")
    assert result.exit_code == 0, result.output
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = read(str(path))
    for name in ("intake_date", "submitted_on_t0", "mix_last_use_date_t0"):
        assert meta.original_variable_types[name] in ("DATE11", "%td"), name
    alice = frame.iloc[0]
    assert (alice["intake_date"], alice["submitted_on_t0"]) == (INTAKE, SUBMITTED)
    assert (alice["mix_last_use_t0"], alice["mix_last_use_date_t0"]) == (-11, LAST_USE)


def test_the_codebook_types_a_date_item_s_days_as_a_number_and_only_its_date_as_a_date(
    calendar_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE_MIX, "--format", "csv", out="wide.csv")
    assert result.exit_code == 0, result.output
    types = _codebook_types(path)
    assert (types["mix_last_use_t0"], types["mix_last_use_date_t0"]) == ("number", "date")
    assert (types["mix_mood_t0"], types["mix_drugs_t0"]) == ("number", "text")
    codebook = json.loads(companion_json(path).read_text(encoding="utf-8"))
    item_types = {v["name"]: v.get("item_type") for v in codebook["variables"]}
    assert (item_types["mix_last_use_t0"], item_types["mix_drugs_t0"]) == ("date", "multiple_choice")


def _submitted_just_after_midnight(world: World, db: Any) -> None:
    """Alice's intake session sent at 00:30 on 6 January in Brussels, which is 23:30 UTC on the 5th."""
    from sqlalchemy import select

    from survey_app.models import AssessmentSession

    session = db.session.scalars(
        select(AssessmentSession)
        .where(AssessmentSession.client_id == world.clients["alice"].id)
        .order_by(AssessmentSession.submitted_at)
    ).first()
    session.submitted_at = dt.datetime(2026, 1, 5, 23, 30, tzinfo=dt.UTC)
    db.session.flush()


def test_a_session_sent_after_midnight_is_dated_and_filtered_by_the_day_the_pages_give_it(
    calendar_world: World, db: Any, run_export: Callable[..., Any]
) -> None:
    _submitted_just_after_midnight(calendar_world, db)
    result, path = run_export(*WIDE_MIX, "--format", "parquet", out="wide.parquet")
    assert result.exit_code == 0, result.output
    (alice,) = pq.read_table(path).to_pylist()
    assert (alice["submitted_on_t0"], alice["days_since_intake_t0"]) == (SUBMITTED, 1)
    result, path = run_export(*LONG_MIX, "--format", "csv", "--from", "2026-01-06", "--to", "2026-01-06")
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as handle:
        dates = {(row["submitted_on"], row["days_since_intake"]) for row in csv.DictReader(handle)}
    assert dates == {("2026-01-06", "1")}
    result, path = run_export(*LONG_MIX, "--format", "csv", "--to", "2026-01-05", out="before.csv")
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv.DictReader(handle)) == []
