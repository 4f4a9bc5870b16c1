"""SPSS, Stata, Parquet and FHIR files: read back with their own readers and validated."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask_sqlalchemy import SQLAlchemy

from tests.exports.conftest import World, _consent, _session

DATA_ABSENT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

WIDE = ("--project", "Ghent evaluation", "--layout", "wide")
LONG = ("--project", "Ghent evaluation", "--layout", "long")


def test_wide_layout_has_a_column_per_scale_and_timepoint_and_joins_only_comparable_versions(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "csv", "--no-items")
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = list(rows[0])
    assert "who5_score_percentage_t0" in columns and "who5_score_percentage_t3m" in columns
    assert "who5_band_raw_t0" in columns
    # demo v2 declares its total comparable with v1: one column; v3 does not: columns of its own
    assert {"demo_score_total_t0", "demo_score_total_t3m", "demo_v3_score_total_t0"} <= set(columns)
    assert "demo_v2_score_total_t3m" not in columns
    alice, bob = sorted(rows, key=lambda row: row["demo_v3_score_total_t0"])
    assert (alice["demo_score_total_t0"], alice["demo_score_total_t3m"]) == ("9.0", "9.0")
    assert alice["demo_v3_score_total_t0"] == ""
    assert (bob["demo_score_total_t0"], bob["demo_v3_score_total_t0"]) == ("", "9.0")
    assert alice["days_since_intake_t0"] == "1" and alice["who5_score_percentage_t3m"] == "60.0"
    notes = json.loads(path.with_name("export.codebook.json").read_text(encoding="utf-8"))["notes"]
    assert any("demo total: versions 1, 2 joined" in note for note in notes)
    assert any("demo total: version 3 in columns of its own" in note for note in notes)


def test_spss_file_carries_variable_labels_value_labels_and_declared_missing_codes(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "sav", "--questionnaire", "mix", out="wide.sav")
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 1
    assert pd.isna(frame["mix_mood_t0"].iloc[0])  # 9 "rather not say" is a declared missing value
    assert frame["mix_sleep_t0"].iloc[0] == 3 and frame["mix_drugs_t0"].iloc[0] == "1;3"
    kept, _ = pyreadstat.read_sav(str(path), user_missing=True)
    assert kept["mix_mood_t0"].iloc[0] == 9
    assert meta.column_names_to_labels["mix_sleep_t0"] == "Sleep [t0]"
    assert meta.variable_value_labels["mix_mood_t0"][9.0] == "Rather not say"
    assert meta.variable_value_labels["mix_sleep_t0"][3.0] == "option 3"
    codebook = json.loads(path.with_name("wide.codebook.json").read_text(encoding="utf-8"))
    assert {v["name"] for v in codebook["variables"]} == set(frame.columns)


def test_stata_file_reads_back_in_pandas_with_short_names_listed_in_the_codebook(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*WIDE, "--format", "dta", "--questionnaire", "who5", out="wide.dta")
    assert result.exit_code == 0, result.output
    frame = pd.read_stata(path, convert_categoricals=False)
    codebook = json.loads(path.with_name("wide.codebook.json").read_text(encoding="utf-8"))
    names = {v["name"]: v["stata_name"] for v in codebook["variables"]}
    assert all(len(name) <= 32 for name in names.values())
    assert list(frame.columns) == list(names.values())
    assert sorted(frame[names["who5_score_percentage_t0"]]) == [60.0, 60.0]
    _, meta = pyreadstat.read_dta(str(path))
    assert meta.variable_value_labels[names["who5_cheerful_t0"]][5] == "All of the time"


def test_parquet_keeps_types_and_labels(export_world: World, run_export: Callable[..., Any]) -> None:
    result, path = run_export(
        "--project", "Ghent evaluation", "--layout", "long", "--format", "parquet", out="long.parquet"
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(path)
    assert table.num_rows == 29
    assert (
        str(table.schema.field("version").type) == "int64"
        and str(table.schema.field("value").type) == "double"
    )
    assert table.schema.field("pseudonym").metadata[b"label"].startswith(b"Client pseudonym")


def test_fhir_export_is_valid_r4_questionnaires_and_a_bundle_of_responses(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(
        "--project",
        "Ghent evaluation",
        "--layout",
        "long",
        "--format",
        "fhir",
        "--labels",
        "nl",
        out="fhir.json",
    )
    assert result.exit_code == 0, result.output
    bundle = Bundle.model_validate_json(path.read_text(encoding="utf-8"))
    responses = [entry.resource for entry in bundle.entry]
    assert len(responses) == 7 and all(isinstance(r, QuestionnaireResponse) for r in responses)
    mix = next(r for r in responses if r.questionnaire.endswith("/mix|1"))
    answers = {item.linkId: item.answer for group in mix.item for item in group.item}
    assert [a.valueCoding.code for a in answers["mix_drugs"]] == ["1", "3"]
    assert answers["mix_days"][0].valueInteger == 4
    assert mix.subject.identifier.value and mix.authored is None  # no calendar dates unless allowed
    questionnaires = json.loads(path.with_name("fhir.questionnaires.json").read_text(encoding="utf-8"))
    for entry in questionnaires["entry"]:
        FhirQuestionnaire.model_validate(entry["resource"])
    who5 = next(e["resource"] for e in questionnaires["entry"] if e["resource"]["id"] == "who5-v1")
    assert who5["language"] == "nl" and who5["item"][0]["item"][0]["text"].startswith(
        "De afgelopen twee weken"
    )


def test_fhir_needs_the_long_layout(export_world: World, run_export: Callable[..., Any]) -> None:
    result, _ = run_export(*WIDE, "--format", "fhir", out="x.json")
    assert result.exit_code == 2 and "long layout" in result.output


def test_a_fhir_response_is_in_the_language_of_its_displays_and_keeps_the_session_language(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(*LONG, "--format", "fhir", "--labels", "fr", out="fhir.json")
    assert result.exit_code == 0, result.output
    bundle = Bundle.model_validate_json(path.read_text(encoding="utf-8"))
    who5 = next(e.resource for e in bundle.entry if e.resource.questionnaire.endswith("/who5|1"))
    cheerful = who5.item[0].item[0].answer[0].valueCoding
    assert who5.language == "fr" and cheerful.display == "Plus de la moitié du temps"
    languages = [e.valueCode for e in who5.extension if e.url.endswith("/session-language")]
    assert languages == ["nl"]  # the client answered in Dutch


_ANSWER_TYPES = {"choice": "Coding", "integer": "Integer", "date": "Date", "text": "String"}


def _answer_type_problems(bundle: dict[str, Any], questionnaires: dict[str, Any]) -> list[str]:
    """Answers whose value is not of the type the Questionnaire's item declares (a value may be absent
    with an extension saying why, as `_valueInteger`, but it is still of that type)."""
    types = {}
    for entry in questionnaires["entry"]:
        resource = entry["resource"]
        for group in resource["item"]:
            for item in group["item"]:
                types[(f"{resource['url']}|{resource['version']}", item["linkId"])] = item["type"]
    problems = []
    for entry in bundle["entry"]:
        response = entry["resource"]
        for group in response["item"]:
            for item in group["item"]:
                expected = "value" + _ANSWER_TYPES[types[(response["questionnaire"], item["linkId"])]]
                for answer in item["answer"]:
                    keys = {key.lstrip("_") for key in answer if key.lstrip("_").startswith("value")}
                    if keys != {expected}:
                        problems.append(f"{item['linkId']}: {sorted(keys)} where {expected} is declared")
    return problems


def test_a_declined_number_answer_keeps_the_integer_type_the_questionnaire_declares(
    db: SQLAlchemy,
    export_world: World,
    make_client: Callable[..., Any],
    run_export: Callable[..., Any],
) -> None:
    client = make_client(
        site=export_world.site_a, programme=export_world.programme, intake_date=dt.date(2026, 1, 5)
    )
    _consent(db, client, True)
    t0, _ = export_world.programme.timepoints
    mix = export_world.versions["mix"]
    _session(db, client, t0, [mix], {mix.id: {"mix_days": 99, "mix_sleep": 2}}, dt.date(2026, 1, 6))
    result, path = run_export(*LONG, "--format", "fhir", "--questionnaire", "mix", out="fhir.json")
    assert result.exit_code == 0, result.output
    bundle = json.loads(path.read_text(encoding="utf-8"))
    questionnaires = json.loads(path.with_name("fhir.questionnaires.json").read_text(encoding="utf-8"))
    assert _answer_type_problems(bundle, questionnaires) == []
    Bundle.model_validate(bundle)
    declined = [
        item["answer"][0]
        for entry in bundle["entry"]
        for group in entry["resource"]["item"]
        for item in group["item"]
        if item["linkId"] == "mix_days" and "valueInteger" not in item["answer"][0]
    ]
    assert declined == [
        {"_valueInteger": {"extension": [{"url": DATA_ABSENT_EXTENSION, "valueCode": "asked-declined"}]}}
    ]


def test_a_stata_file_too_wide_for_stata_be_says_so_and_one_too_wide_for_stata_is_refused(
    export_world: World, run_export: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thresholds are lowered to this small export's width; the real ones are 2,048 and 32,767."""
    result, path = run_export(*WIDE, "--format", "dta", "--questionnaire", "who5", out="wide.dta")
    width = len(json.loads(path.with_name("wide.codebook.json").read_text(encoding="utf-8"))["variables"])
    monkeypatch.setattr("survey_app.exports.spss_stata.STATA_BE_VARIABLES", width - 1)
    result, path = run_export(*WIDE, "--format", "dta", "--questionnaire", "who5", out="wider.dta")
    assert result.exit_code == 0, result.output
    notes = json.loads(path.with_name("wider.codebook.json").read_text(encoding="utf-8"))["notes"]
    assert f"This Stata file has {width:,} variables: Stata/BE opens at most {width - 1:,}." in " ".join(
        notes
    )
    monkeypatch.setattr("survey_app.services.exports.runs.DTA_MAX_VARIABLES", width - 1)
    result, path = run_export(*WIDE, "--format", "dta", "--questionnaire", "who5", out="widest.dta")
    assert result.exit_code != 0 and "A Stata file holds at most" in result.output
    assert not path.exists()
