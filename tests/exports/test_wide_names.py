"""Column names of the wide layout: unique by construction, in every format, for bundled questionnaires."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pyreadstat
import pytest
from flask_sqlalchemy import SQLAlchemy

from survey_app.exports.table import Variable
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.services.exports import ExportError
from survey_app.services.exports.wide import _Plan
from tests.conftest import PROJECT_ROOT
from tests.exports.conftest import World, _consent, _session, bank_version

TOP = ("--project", "Ghent evaluation", "--layout", "wide", "--questionnaire", "top")


@pytest.fixture
def top_answers(db: SQLAlchemy, export_world: World, make_client: Callable[..., Any]) -> dict[str, Any]:
    """A consenting client who answered the TOP at t0 with the questionnaire's own first example."""
    top = bank_version(db, "top")
    source = read_yaml((PROJECT_ROOT / "questionnaires" / "top" / "v1.yaml").read_text(encoding="utf-8"))
    answers: dict[str, Any] = source.data["examples"][0]["answers"]
    t0, _ = export_world.programme.timepoints
    client = make_client(
        site=export_world.site_a, programme=export_world.programme, intake_date=dt.date(2026, 1, 5)
    )
    _consent(db, client, True)
    _session(db, client, t0, [top], {top.id: answers}, dt.date(2026, 1, 6))
    return answers


def _duplicates(names: list[str]) -> list[str]:
    return [name for name, count in Counter(name.lower() for name in names).items() if count > 1]


def test_top_scales_and_items_have_distinct_columns_in_csv(
    top_answers: dict[str, Any], run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*TOP, "--format", "csv")
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as handle:
        header, row = list(csv.reader(handle))
    assert _duplicates(header) == []
    values = dict(zip(header, row, strict=True))
    assert values["top_score_sharing_t0"] == "99999"  # the sharing item was not asked, so nor was its scale
    assert values["top_sharing_t0"] == "99999"
    assert values["top_alcohol_week1_t0"] == str(top_answers["top_alcohol_week1"])
    assert values["top_score_alcohol_days_t0"] == "6.0"
    codebook = json.loads(path.with_name("export.codebook.json").read_text(encoding="utf-8"))
    described = {v["name"]: v for v in codebook["variables"]}
    assert list(described) == header
    assert described["top_score_sharing_t0"]["scale"] == "sharing"
    assert described["top_sharing_t0"]["item"] == "top_sharing"


@pytest.mark.parametrize("fmt", ["sav", "dta", "parquet"])
def test_top_wide_export_reads_back_in_every_format(
    top_answers: dict[str, Any], run_export: Callable[..., Any], fmt: str
) -> None:
    result, path = run_export(*TOP, "--format", fmt, out=f"wide.{fmt}")
    assert result.exit_code == 0, result.output
    codebook = json.loads(path.with_name("wide.codebook.json").read_text(encoding="utf-8"))
    if fmt == "parquet":
        table = pq.read_table(path)
        columns, expected = table.schema.names, [v["name"] for v in codebook["variables"]]
        assert table.num_rows == 1
    else:
        read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, _ = read(str(path))
        columns = list(frame.columns)
        expected = [v["spss_name" if fmt == "sav" else "stata_name"] for v in codebook["variables"]]
        assert len(frame) == 1
    assert _duplicates(columns) == [] and columns == expected


def test_the_plan_refuses_a_second_column_of_the_same_name() -> None:
    plan = _Plan()
    plan.add(Variable("top_sharing_t0", "Sharing [t0]"))
    with pytest.raises(ExportError, match="TOP_sharing_t0"):
        plan.add(Variable("TOP_sharing_t0", "Sharing, score [t0]"))


def _wide_header(run_export: Callable[..., Any], out: str) -> list[str]:
    result, path = run_export("--project", "Ghent evaluation", "--layout", "wide", "--format", "csv", out=out)
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def test_wide_columns_follow_the_versions_in_scope_not_which_sessions_exist(
    db: SQLAlchemy, export_world: World, run_export: Callable[..., Any]
) -> None:
    before = _wide_header(run_export, "before.csv")
    # bob answers mix and demo v3 at t3m: a timepoint and version pair that had no session before
    _, t3m = export_world.programme.timepoints
    v = export_world.versions
    answers = {v["mix"].id: {"mix_sleep": 1}, v["demo3"].id: {"q1": 1, "q2": 1, "q3": 1}}
    _session(db, export_world.clients["bob"], t3m, [v["mix"], v["demo3"]], answers, dt.date(2026, 5, 4))
    after = _wide_header(run_export, "after.csv")
    assert after == before
    assert {"mix_sleep_t3m", "demo_v3_score_total_t3m", "demo_q1_v3_t3m"} <= set(before)
