"""A scale whose items the skip rules all hid gets the not-asked code; one asked, not scored stays empty."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pyreadstat
import pytest
from flask_sqlalchemy import SQLAlchemy

from tests.builders import document, text
from tests.exports.conftest import World, add_intake_answers, store_document

NOT_ASKED, LABEL = 99999, "Not asked (skip logic)"
PROJECT = ("--project", "Ghent evaluation", "--questionnaire", "hid")
RULE = "hid_use >= 3"


def hidden_scale_document() -> dict[str, Any]:
    """`hid`: a use question (scale `use`) and two follow-ups asked when it is 3 or 4 (scale `follow`)."""
    follow_up = {"type": "single_choice", "options": "agree4", "show_if": RULE}
    items = [
        {"id": "hid_use", "type": "single_choice", "options": "agree4", "text": text("Use")},
        {"id": "hid_f1", "text": text("First"), **follow_up},
        {"id": "hid_f2", "text": text("Second"), **follow_up},
    ]
    data = document(key="hid", sections=[{"id": "main", "items": items}])
    use = data["scoring"]["scales"][0]
    use.update(id="use", label=text("Use"), items=["hid_use"], range=[1, 4])
    follow = {**use, "id": "follow", "label": text("Follow"), "items": ["hid_f1", "hid_f2"], "range": [2, 8]}
    data["scoring"]["scales"].append(follow | {"missing": {"max_missing": 0}})
    for example in data["examples"]:
        example.update(
            answers={"hid_use": 4, "hid_f1": 2, "hid_f2": 2},
            expect={"scales": {"use": {"value": 4}, "follow": {"value": 4}}},
        )
    return data


@pytest.fixture
def hidden_scale(db: SQLAlchemy, export_world: World, make_client: Callable[..., Any]) -> World:
    """ivy said 1 (follow-ups not asked); jon said 4 and answered one follow-up (asked, not scored); kim said
    4 and answered both."""
    version = store_document(db, hidden_scale_document())
    given = {
        "ivy": {"hid_use": 1},
        "jon": {"hid_use": 4, "hid_f1": 3},
        "kim": {"hid_use": 4, "hid_f1": 3, "hid_f2": 1},
    }
    add_intake_answers(db, export_world, make_client, version, given)
    return export_world


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _follow_by_use(rows: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """(use score, follow score) of each session, in order of the use score and then the follow score."""
    use = {row["pseudonym"]: row["value"] for row in rows if row["scale"] == "use"}
    follow = {row["pseudonym"]: row["value"] for row in rows if row["scale"] == "follow"}
    return sorted(((use[p], follow[p]) for p in use), key=str)


def test_scores_csv_has_the_not_asked_code_for_a_scale_whose_items_were_all_hidden(
    hidden_scale: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*PROJECT, "--layout", "scores", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert _follow_by_use(_csv(path)) == [("1.0", "99999"), ("4.0", ""), ("4.0", "4.0")]


def test_scores_parquet_spss_and_stata_carry_the_not_asked_score(
    hidden_scale: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*PROJECT, "--layout", "scores", "--format", "parquet", out="s.parquet")
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    assert _follow_by_use(table.to_pylist()) == [(1.0, NOT_ASKED), (4.0, 4.0), (4.0, None)]
    result, path = run_export(*PROJECT, "--layout", "scores", "--format", "sav", out="s.sav")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    follow = frame[frame["scale"] == "follow"]
    assert sorted(follow["value"].fillna(-1)) == [-1, 4.0, NOT_ASKED]
    assert {"lo": NOT_ASKED, "hi": NOT_ASKED} in meta.missing_ranges["value"]
    assert meta.variable_value_labels["value"][float(NOT_ASKED)] == LABEL
    result, path = run_export(*PROJECT, "--layout", "scores", "--format", "dta", out="s.dta")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    follow = frame[frame["scale"] == "follow"]
    assert sorted(follow["value"].fillna(-1), key=str) == [-1, 4.0, "a"]
    assert meta.variable_value_labels["value"]["a"] == LABEL


@pytest.mark.parametrize("items", ["--items", "--no-items"])
def test_wide_layout_has_the_not_asked_code_in_the_score_column(
    hidden_scale: World, run_export: Callable[..., Any], items: str
) -> None:
    result, path = run_export(*PROJECT, "--layout", "wide", "--format", "csv", items)
    assert result.exit_code == 0, result.output
    scores = sorted((row["hid_score_use_t0"], row["hid_score_follow_t0"]) for row in _csv(path))
    assert scores == [("1.0", "99999"), ("4.0", ""), ("4.0", "4.0")]


def test_wide_stata_and_spss_files_declare_the_not_asked_score_missing(
    hidden_scale: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*PROJECT, "--layout", "wide", "--format", "dta", out="w.dta")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    ivy = frame[frame["hid_score_use_t0"] == 1].iloc[0]
    assert (
        ivy["hid_score_follow_t0"] == "a" and meta.variable_value_labels["hid_score_follow_t0"]["a"] == LABEL
    )
    result, path = run_export(*PROJECT, "--layout", "wide", "--format", "sav", out="w.sav")
    assert result.exit_code == 0, result.output
    _, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.missing_ranges["hid_score_follow_t0"] == [{"lo": NOT_ASKED, "hi": NOT_ASKED}]
    assert "hid_score_use_t0" not in meta.missing_ranges  # its item is always asked
