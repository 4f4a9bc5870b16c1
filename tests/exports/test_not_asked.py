"""Items the skip rules did not ask are told apart from items the client left unanswered, in every format."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pyreadstat
import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import ExportRun
from survey_app.services.exports import ExportRequest, check_request, write_export
from tests.builders import document, text
from tests.exports.conftest import World, add_intake_answers, store_document

NOT_ASKED, LABEL = 99999, "Not asked (skip logic)"
WIDE = ("--project", "Ghent evaluation", "--layout", "wide", "--questionnaire", "skip")
LONG = ("--project", "Ghent evaluation", "--layout", "long", "--questionnaire", "skip")
RULE = "skip_use >= 3"


def skip_document() -> dict[str, Any]:
    """`skip`: a use question, three follow-ups asked only when it is 3 or 4, and an unconditional mood."""
    items = [
        {"id": "skip_use", "type": "single_choice", "options": "agree4", "text": text("Use")},
        {"id": "skip_days", "type": "integer", "min": 0, "max": 28, "text": text("Days"), "show_if": RULE},
        {
            "id": "skip_kinds",
            "type": "multiple_choice",
            "options": "agree4",
            "text": text("Kinds"),
            "show_if": RULE,
        },
        {"id": "skip_when", "type": "date", "text": text("When"), "show_if": RULE},
        {"id": "skip_mood", "type": "single_choice", "options": "agree4", "text": text("Mood")},
    ]
    data = document(key="skip", sections=[{"id": "main", "items": items}])
    data["scoring"]["scales"][0].update(items=["skip_use", "skip_mood"], range=[2, 8])
    for example in data["examples"]:
        example.update(answers={"skip_use": 1, "skip_mood": 2}, expect={"scales": {"total": {"value": 3}}})
    return data


@pytest.fixture
def skipped(db: SQLAlchemy, export_world: World, make_client: Callable[..., Any]) -> World:
    """eve said 1 (follow-ups not asked; a days answer left from before she changed it is still stored) and
    skipped the mood; fay said 4 and skipped the follow-ups; gus answered nothing."""
    version = store_document(db, skip_document())
    given = {
        "eve": {"skip_use": 1, "skip_days": 5},
        "fay": {"skip_use": 4, "skip_mood": 2},
        "gus": {},
    }
    add_intake_answers(db, export_world, make_client, version, given)
    export_world.versions["skip"] = version
    return export_world


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _by_use(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    names = {"1": "eve", "4": "fay", "": "gus"}
    return {names[row["skip_use_t0"]]: row for row in rows}


def test_wide_csv_has_the_not_asked_code_where_skip_logic_hid_an_item(
    skipped: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = _by_use(_csv(path))
    follow_ups = ("skip_days_t0", "skip_kinds_t0", "skip_when_t0")
    assert [rows["eve"][name] for name in follow_ups] == ["99999"] * 3  # the stale days answer is not used
    assert rows["eve"]["skip_mood_t0"] == ""  # asked, not answered
    assert [rows["fay"][name] for name in follow_ups] == ["", "", ""]
    assert [rows["gus"][name] for name in follow_ups] == ["99999"] * 3
    assert rows["gus"]["skip_mood_t0"] == ""
    codebook = json.loads(path.with_name("export.codebook.json").read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in codebook["variables"]}
    assert {"value": NOT_ASKED, "label": LABEL} in variables["skip_days_t0"]["values"]
    assert {"value": NOT_ASKED, "label": LABEL} in variables["skip_kinds_t0"]["values"]
    assert not any(v["value"] == NOT_ASKED for v in variables["skip_mood_t0"]["values"])
    assert "99999" in codebook["rules"]["missing"]


def test_long_csv_has_a_not_asked_row_for_every_hidden_item(
    skipped: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG, "--format", "csv")
    assert result.exit_code == 0, result.output
    by_session: dict[str, dict[str, dict[str, str]]] = {}
    for row in _csv(path):
        by_session.setdefault(row["pseudonym"], {})[row["item"]] = row
    shapes = sorted(
        sorted((item, row["value"]) for item, row in rows.items()) for rows in by_session.values()
    )
    follow_ups = [("skip_days", "99999"), ("skip_kinds", "99999"), ("skip_when", "99999")]
    assert shapes == sorted(
        [
            follow_ups,  # gus: nothing answered, the follow-ups not asked
            sorted([*follow_ups, ("skip_use", "1")]),  # eve
            [("skip_mood", "2"), ("skip_use", "4")],  # fay: follow-ups asked, not answered: no row
        ]
    )
    not_asked = next(rows for rows in by_session.values() if "skip_use" in rows and len(rows) == 4)
    assert not_asked["skip_kinds"]["value_text"] == "" and not_asked["skip_days"]["declined"] == "0"


def test_spss_declares_the_not_asked_code_user_missing_with_its_label(
    skipped: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "sav", out="wide.sav")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    eve = frame[frame["skip_use_t0"] == 1].iloc[0]
    assert eve["skip_days_t0"] == NOT_ASKED and eve["skip_kinds_t0"] == "99999"
    assert {"lo": NOT_ASKED, "hi": NOT_ASKED} in meta.missing_ranges["skip_days_t0"]
    assert {"lo": "99999", "hi": "99999"} in meta.missing_ranges["skip_kinds_t0"]
    assert meta.variable_value_labels["skip_days_t0"][float(NOT_ASKED)] == LABEL
    plain, _ = pyreadstat.read_sav(str(path))
    assert plain[plain["skip_use_t0"] == 1].iloc[0].isna()["skip_days_t0"]


def test_spss_labels_the_not_asked_code_of_a_multiple_choice_column_as_the_codebook_does(
    skipped: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "sav", out="wide.sav")
    assert result.exit_code == 0, result.output
    _, meta = pyreadstat.read_sav(str(path), user_missing=True)
    codebook = json.loads(path.with_name("wide.codebook.json").read_text(encoding="utf-8"))
    kinds = next(v for v in codebook["variables"] if v["name"] == "skip_kinds_t0")
    assert kinds["values"] == [{"value": NOT_ASKED, "label": LABEL}]
    assert meta.variable_value_labels["skip_kinds_t0"] == {"99999": LABEL}


def test_stata_gets_the_extended_missing_value_a_with_its_label(
    skipped: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "dta", out="wide.dta")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    eve = frame[frame["skip_use_t0"] == 1].iloc[0]
    assert eve["skip_days_t0"] == "a" and eve["skip_when_t0"] == "a"
    assert meta.variable_value_labels["skip_days_t0"]["a"] == LABEL
    fay = frame[frame["skip_use_t0"] == 4].iloc[0]
    assert fay.isna()["skip_days_t0"]  # asked, not answered: the plain missing value


def test_parquet_has_the_code_and_declares_it_in_the_field_metadata(
    skipped: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG, "--format", "parquet", out="long.parquet")
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    values = [row["value"] for row in table.to_pylist() if row["item"] == "skip_days"]
    assert values == [NOT_ASKED, NOT_ASKED]  # eve's stale answer is not exported
    metadata = table.schema.field("value").metadata
    assert json.loads(metadata[b"value_labels"]) == {str(NOT_ASKED): LABEL}
    assert json.loads(metadata[b"missing_codes"]) == [NOT_ASKED]


def test_fhir_leaves_items_not_asked_out(skipped: World, run_export: Callable[..., Any]) -> None:
    result, path = run_export(*LONG, "--format", "fhir", out="fhir.json")
    assert result.exit_code == 0, result.output
    bundle = json.loads(path.read_text(encoding="utf-8"))
    asked = sorted(
        sorted(item["linkId"] for group in entry["resource"]["item"] for item in group["item"])
        for entry in bundle["entry"]
    )
    assert asked == [["skip_mood", "skip_use"], ["skip_use"]]


def test_an_item_that_accepts_the_not_asked_code_stops_the_item_export_with_a_message(
    db: SQLAlchemy, export_world: World, run_export: Callable[..., Any]
) -> None:
    data = skip_document()
    data["sections"][0]["items"][1]["max"] = 100000  # skip_days would accept 99999
    store_document(db, data | {"version": 2})
    result, path = run_export(*LONG, "--format", "csv")
    assert result.exit_code != 0 and not path.exists()
    assert "skip_days of skip v2 accepts 99999" in result.output
    # the run is kept failed, with a code its page says in the reader's language
    failed = db.session.scalars(select(ExportRun).order_by(ExportRun.id.desc())).first()
    assert failed is not None and (failed.status, failed.error) == ("failed", "not_asked_code")
    scores, _ = run_export(*WIDE[:3], "scores", *WIDE[4:], "--format", "csv", out="scores.csv")
    assert scores.exit_code == 0, scores.output


def test_long_layout_progress_ends_at_the_rows_it_expected(
    db: SQLAlchemy, skipped: World, tmp_path: Path
) -> None:
    db.session.commit()
    request = ExportRequest(layout="long", format="csv")
    selection = check_request(
        db.session, skipped.project, request, as_of=dt.datetime.now(dt.UTC), timezone=dt.UTC
    )
    totals: list[int] = []
    progress: list[int] = []
    outcome = write_export(
        db.session,
        selection,
        secret=b"k" * 32,
        data_path=tmp_path / "long.csv",
        render_html=lambda codebook: "",
        on_progress=progress.append,
        on_total=totals.append,
        fhir_base="https://fhir.example",
    )
    rows = _csv(tmp_path / "long.csv")
    not_asked = sum(1 for row in rows if row["value"] == str(NOT_ASKED))
    # the progress counts the exported answers: not eve's stale days answer (its row says not asked), not
    # alice's free text (not allowed), not gus's questionnaire without answers; the rows not asked come on top
    assert len(rows) == outcome.rows and not_asked == 6
    (total,) = totals
    assert progress[-1] == total == outcome.rows - not_asked + 1
    assert all(done <= total for done in progress)
