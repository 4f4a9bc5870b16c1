"""'Rather not say' codes are missing values in SPSS and Stata, beside the not-asked code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from flask_sqlalchemy import SQLAlchemy

from tests.builders import document, text
from tests.exports.conftest import World, add_intake_answers, store_document

NOT_ASKED = 99999
WIDE = ("--project", "Ghent evaluation", "--layout", "wide", "--questionnaire", "dec")
RULE = "dec_use >= 3"


def _options(valid: list[int], declined: dict[int, str]) -> list[dict[str, Any]]:
    return [{"code": c, "label": text(f"option {c}")} for c in valid] + [
        {"code": c, "label": text(label), "missing": True} for c, label in declined.items()
    ]


DECLINED = {7: "Don't know", 8: "Refused", 9: "Rather not say"}


def declined_document() -> dict[str, Any]:
    """`dec`: a use question and three follow-ups asked when it is 3 or 4, each with three declined codes."""
    items = [
        {"id": "dec_use", "type": "single_choice", "options": "agree4", "text": text("Use")},
        {
            "id": "dec_feel",
            "type": "single_choice",
            "options": _options([1, 2, 3, 4], DECLINED),
            "text": text("Feel"),
            "show_if": RULE,
        },
        {
            "id": "dec_days",
            "type": "integer",
            "min": 0,
            "max": 28,
            "options": [{"code": c, "label": text(f"declined {c}"), "missing": True} for c in (97, 98, 99)],
            "text": text("Days"),
            "show_if": RULE,
        },
        {  # a valid 8 between the declined codes: no range can cover them
            "id": "dec_odd",
            "type": "single_choice",
            "options": _options([1, 2, 8], {7: "Don't know", 9: "Refused", 97: "Rather not say"}),
            "text": text("Odd"),
            "show_if": RULE,
        },
    ]
    data = document(key="dec", sections=[{"id": "main", "items": items}])
    data["scoring"]["scales"][0].update(items=["dec_use"], range=[1, 4])
    for example in data["examples"]:
        example.update(answers={"dec_use": 1}, expect={"scales": {"total": {"value": 1}}})
    return data


@pytest.fixture
def declined(db: SQLAlchemy, export_world: World, make_client: Callable[..., Any]) -> World:
    """ann said 4 and declined each follow-up with its second code; ben said 1 (follow-ups not asked)."""
    version = store_document(db, declined_document())
    given = {
        "ann": {"dec_use": 4, "dec_feel": 8, "dec_days": 98, "dec_odd": 9},
        "ben": {"dec_use": 1},
    }
    add_intake_answers(db, export_world, make_client, version, given)
    return export_world


def _variables(path: Path) -> dict[str, dict[str, Any]]:
    codebook = json.loads(path.with_name(f"{path.stem}.codebook.json").read_text(encoding="utf-8"))
    return {v["name"]: v for v in codebook["variables"]}


def test_stata_makes_each_declined_code_an_extended_missing_value_with_its_label(
    declined: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "dta", out="wide.dta")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    ann = frame[frame["dec_use_t0"] == 4].iloc[0]
    ben = frame[frame["dec_use_t0"] == 1].iloc[0]
    assert (ann["dec_feel_t0"], ann["dec_days_t0"], ann["dec_odd_t0"]) == ("c", "c", "c")
    assert (ben["dec_feel_t0"], ben["dec_days_t0"]) == ("a", "a")
    labels = meta.variable_value_labels["dec_feel_t0"]
    assert (labels["a"], labels["b"], labels["c"], labels["d"]) == (
        "Not asked (skip logic)",
        "Don't know",
        "Refused",
        "Rather not say",
    )
    assert labels[4] == "option 4" and 8 not in labels
    assert meta.variable_value_labels["dec_days_t0"]["d"] == "declined 99"
    plain, _ = pyreadstat.read_dta(str(path))
    assert plain[plain["dec_use_t0"] == 4].isna().iloc[0]["dec_feel_t0"]  # missing, not the number 8
    stata = _variables(path)["dec_feel_t0"]["stata_missing"]
    assert stata == {".a": NOT_ASKED, ".b": 7, ".c": 8, ".d": 9}


def test_spss_declares_a_range_for_three_declined_codes_beside_the_not_asked_code(
    declined: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "sav", out="wide.sav")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.missing_ranges["dec_feel_t0"] == [{"lo": 7.0, "hi": 9.0}, {"lo": NOT_ASKED, "hi": NOT_ASKED}]
    assert meta.missing_ranges["dec_days_t0"] == [
        {"lo": 97.0, "hi": 99.0},
        {"lo": NOT_ASKED, "hi": NOT_ASKED},
    ]
    ann = frame[frame["dec_use_t0"] == 4].iloc[0]
    assert (ann["dec_feel_t0"], ann["dec_days_t0"]) == (8, 98)  # kept as codes, declared missing
    plain, _ = pyreadstat.read_sav(str(path))
    gone = plain[plain["dec_use_t0"] == 4].isna().iloc[0]
    assert gone["dec_feel_t0"] and gone["dec_days_t0"]
    assert _variables(path)["dec_feel_t0"]["spss_missing"] == {"range": [7, 9], "values": [NOT_ASKED]}


def test_spss_declares_what_fits_when_a_valid_code_lies_between_the_declined_ones(
    declined: World, run_export: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    result, path = run_export(*WIDE, "--format", "sav", out="wide.sav")
    assert result.exit_code == 0, result.output
    _, meta = pyreadstat.read_sav(str(path), user_missing=True)
    declared = meta.missing_ranges["dec_odd_t0"]
    assert declared == [{"lo": v, "hi": v} for v in (7.0, 9.0, NOT_ASKED)]  # 8 is a valid answer
    entry = _variables(path)["dec_odd_t0"]["spss_missing"]
    assert entry["values"] == [7, 9, NOT_ASKED] and entry["not_declared"] == [97]
    assert "97" in entry["note"]
    assert any("dec_odd_t0" in r.getMessage() and "97" in r.getMessage() for r in caplog.records)
