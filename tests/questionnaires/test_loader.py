"""The loader refuses bad files with every problem at once, each with its line and item id."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from survey_app.questionnaires.loader import (
    SCHEMA_PATH,
    lint_file,
    load_questionnaire_bytes,
    load_questionnaire_file,
    load_questionnaire_text,
)
from survey_app.questionnaires.problems import QuestionnaireError
from tests.builders import build, choice_item, document, dump, text, with_scale


def problems_of(data: dict | str) -> list[str]:
    source = data if isinstance(data, str) else dump(data)
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire_text(source, "demo/v1.yaml")
    return [str(problem) for problem in caught.value.problems]


def line_of(source: str, needle: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if needle in line)


def test_the_questionnaire_schema_is_itself_a_valid_json_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_a_valid_document_loads() -> None:
    questionnaire = build()
    assert questionnaire.label == "demo v1"
    assert [item.id for item in questionnaire.items] == ["q1", "q2", "q3", "q4", "q5"]
    assert len(questionnaire.content_hash) == 64


def test_malformed_yaml_names_the_line() -> None:
    (problem,) = problems_of("key: demo\nsections: [1, 2\nversion: 1\n")
    assert problem.startswith("demo/v1.yaml:3: malformed YAML")


def test_unknown_keys_are_errors_with_line_and_item() -> None:
    data = document()
    data["sections"][0]["items"][2]["txet"] = text("typo")
    source = dump(data)
    (problem,) = problems_of(source)
    assert problem == (
        f"demo/v1.yaml:{line_of(source, 'txet:')}: item q3: unknown key 'txet' (allowed: help, id, max, "
        "max_choices, max_label, max_length, min, min_label, number, options, read_aloud, required, show_if, "
        "step, text, type, unit)"
    )


def test_a_comma_in_unquoted_flow_text_gets_a_hint() -> None:
    source = dump(document()).replace(
        "  nl:\n    validated: false",
        "  nl: {validated: false, source: project translation, not validated}\n  nl_:\n    validated: false",
        1,
    )
    source = source.replace("  nl_:\n    validated: false\n", "")
    (problem,) = problems_of(source)
    assert "unknown key 'not validated'" in problem
    assert "put text that contains a comma in quotes" in problem


def test_every_problem_is_reported_at_once() -> None:
    data = document()
    items = data["sections"][0]["items"]
    items.append(copy.deepcopy(items[0]))  # duplicate id q1
    data["scoring"]["scales"][0]["items"].append("q99")  # scale names a missing item
    items[1]["show_if"] = "q42 == 1"  # rule names an unknown item
    problems = problems_of(data)
    joined = "\n".join(problems)
    assert "item id 'q1' is used twice" in joined
    assert "scale names item 'q99', which the form does not have" in joined
    assert "unknown item 'q42'" in joined
    assert len(problems) >= 3


def test_an_unknown_key_does_not_hide_the_other_problems() -> None:
    data = document()
    items = data["sections"][0]["items"]
    items[0]["txet"] = text("typo")  # unknown key
    items.append(copy.deepcopy(items[1]))  # duplicate id q2
    data["scoring"]["scales"][0]["items"].append("q99")  # scale names a missing item
    joined = "\n".join(problems_of(data))
    assert "item q1: unknown key 'txet'" in joined
    assert "item id 'q2' is used twice" in joined
    assert "scale names item 'q99', which the form does not have" in joined


def test_duplicate_item_ids_across_sections() -> None:
    data = document()
    data["sections"].append({"id": "more", "items": [choice_item("q2")]})
    source = dump(data)
    (problem,) = problems_of(source)
    assert "item id 'q2' is used twice" in problem
    assert problem.startswith("demo/v1.yaml:")


def test_bands_that_overlap_or_leave_a_gap_or_miss_the_range() -> None:
    overlap = [
        {"id": "low", "min": 5, "max": 12, "label": text("L")},
        {"id": "high", "min": 12, "max": 20, "label": text("H")},
    ]
    assert any("overlap" in p for p in problems_of(with_scale(document(), bands=overlap)))
    gap = [
        {"id": "low", "min": 5, "max": 11, "label": text("L")},
        {"id": "high", "min": 13, "max": 20, "label": text("H")},
    ]
    assert any(
        "leave a gap: values from 12 to 12 have no band" in p
        for p in problems_of(with_scale(document(), bands=gap))
    )
    short = [{"id": "low", "min": 5, "max": 19, "label": text("L")}]
    assert any("the scale's range is 5 to 20" in p for p in problems_of(with_scale(document(), bands=short)))
    fine = [
        {"id": "low", "min": 1, "max": 2.99, "label": text("L")},
        {"id": "high", "min": 3, "max": 4, "label": text("H")},
    ]
    build(with_scale(document(), method="mean", range=[1, 4], precision=2, bands=fine))
    assert any(
        "more decimals than the precision 0" in p
        for p in problems_of(
            with_scale(
                document(),
                bands=[
                    {"id": "low", "min": 5, "max": 12.5, "label": text("L")},
                    {"id": "high", "min": 13, "max": 20, "label": text("H")},
                ],
            )
        )
    )


def test_a_range_that_the_items_cannot_give_is_refused() -> None:
    (problem,) = problems_of(with_scale(document(), range=[0, 20]))
    assert "range [0, 20] does not match what its items give (5 to 20)" in problem


def test_skip_rules_may_only_use_earlier_answers() -> None:
    data = document()
    data["sections"][0]["items"][1]["show_if"] = "q4 == 1"
    (problem,) = problems_of(data)
    assert "item q2" in problem
    assert "uses 'q4', which is not asked before" in problem


def test_skip_rules_are_checked_against_the_item_codes() -> None:
    data = document()
    data["sections"][0]["items"][3]["show_if"] = "q1 == 7"
    (problem,) = problems_of(data)
    assert "no answer code 7" in problem


def test_a_syntax_error_in_a_rule_is_reported_with_the_rule() -> None:
    data = document()
    data["sections"][0]["items"][3]["show_if"] = "q1 == (1"
    (problem,) = problems_of(data)
    assert "rule 'q1 == (1'" in problem and "item q4" in problem


def test_a_lookup_table_must_cover_its_source() -> None:
    data = document()
    table = {value: float(value) for value in range(5, 20)}  # 20 is missing
    data["scoring"]["scales"].append(
        {
            "id": "t",
            "label": text("T"),
            "method": "lookup",
            "of": "total",
            "table": table,
            "range": [5, 19],
            "precision": 1,
            "direction": "higher_is_better",
        }
    )
    assert any("the table has no value for 20" in p for p in problems_of(data))


def test_a_lookup_table_must_cover_the_values_its_source_rounds_to() -> None:
    data = document()
    data["scoring"]["scales"] += [
        {
            "id": "half",
            "label": text("Half"),
            "method": "transform",
            "of": "total",
            "multiply": 0.5,
            "add": 0.5,
            "range": [3, 10.5],
            "precision": 1,
            "direction": "higher_is_better",
        },
        {
            "id": "t",
            "label": text("T"),
            "method": "lookup",
            "of": "half",
            "table": {value: float(value) for value in range(3, 11)},  # 10.5 rounds half up to 11
            "range": [3, 10],
            "precision": 0,
            "direction": "higher_is_better",
        },
    ]
    (problem,) = problems_of(data)
    assert "scale t: the table has no value for 11 (the source scale can take them)" in problem


def test_recode_must_list_every_answer_code() -> None:
    (problem,) = problems_of(with_scale(document(), recode={"q1": {1: 4, 2: 3}}))
    assert "recode must list exactly the answer codes of 'q1': [1, 2, 3, 4]" in problem


def _with_days_item(maximum: int, *scales: dict[str, Any]) -> dict[str, Any]:
    data = document()
    data["sections"][0]["items"].append(
        {"id": "days", "type": "integer", "min": 0, "max": maximum, "text": text("Days")}
    )
    data["scoring"]["scales"] += list(scales)
    return data


def _days_scale(**extra: Any) -> dict[str, Any]:
    return {
        "id": "days_total",
        "label": text("Days"),
        "method": "sum",
        "items": ["days"],
        "precision": 0,
        "direction": "higher_is_better",
        **extra,
    }


def test_a_recode_of_a_number_item_with_a_huge_range_is_refused_without_listing_it() -> None:
    data = _with_days_item(10**12, _days_scale(recode={"days": {0: 0, 1: 1}}, range=[0, 1]))
    (problem,) = problems_of(data)
    assert "scale days_total: recode must list exactly the answer codes of 'days'" in problem
    assert "every whole number from 0 to 1000000000000" in problem


def test_a_lookup_on_a_source_with_a_huge_range_is_refused_without_listing_it() -> None:
    lookup = {
        "id": "days_t",
        "label": text("T"),
        "method": "lookup",
        "of": "days_total",
        "table": {0: 1.0, 1: 2.0},
        "range": [1, 2],
        "precision": 0,
        "direction": "higher_is_better",
    }
    data = _with_days_item(10**12, _days_scale(range=[0, 10**12]), lookup)
    (problem,) = problems_of(data)
    assert "scale days_t: the table has no value for 999999999999 of the whole numbers from 0 to" in problem


@pytest.mark.parametrize("weights", [{"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0}, {"q1": -1, "q2": 0}])
def test_a_mean_refuses_weights_that_are_not_above_zero(weights: dict[str, int]) -> None:
    data = with_scale(document(), method="mean", weights=weights, range=[1, 4])
    problems = problems_of(data)
    assert problems
    assert all("the weights of a mean must be larger than 0" in problem for problem in problems)
    assert "scale total: 'q1' has weight " in problems[0]


def test_scales_that_depend_on_each_other_in_a_circle_are_refused() -> None:
    data = document()
    data["scoring"]["scales"].extend(
        [
            {
                "id": "a",
                "label": text("A"),
                "method": "transform",
                "of": "b",
                "range": [0, 1],
                "precision": 0,
                "direction": "higher_is_better",
            },
            {
                "id": "b",
                "label": text("B"),
                "method": "transform",
                "of": "a",
                "range": [0, 1],
                "precision": 0,
                "direction": "higher_is_better",
            },
        ]
    )
    assert any("circle" in p for p in problems_of(data))


def test_too_few_examples_and_wrong_example_answers() -> None:
    data = document()
    data["examples"] = data["examples"][:2]
    data["examples"][0]["answers"]["q1"] = 7
    problems = "\n".join(problems_of(data))
    assert "needs at least 3 examples" in problems
    assert "7 is not an answer code of 'q1'" in problems


def test_texts_need_every_declared_language() -> None:
    data = document()
    del data["sections"][0]["items"][0]["text"]["fr"]
    (problem,) = problems_of(data)
    assert "item q1" in problem and "'fr' is missing" in problem
    data = document()
    data["languages"]["ar"] = {"validated": False}
    problems = problems_of(data)
    assert any("text has no 'ar' version" in p for p in problems)


def test_yes_and_no_stay_text_as_in_yaml_1_2() -> None:
    source = dump(document()).replace("option 1 (nl)", "No").replace("option 2 (nl)", "yes")
    questionnaire = load_questionnaire_text(source, "demo/v1.yaml")
    assert questionnaire.item("q1").options[0].label["nl"] == "No"
    assert questionnaire.item("q1").options[1].label["nl"] == "yes"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a: &x [1, 2]\nb: *x\n", "anchors (&name) are not allowed"),
        ('a: &a ["lol","lol"]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\n', "anchors (&name) are not allowed"),
        ("a: " + "[" * 40 + "]" * 40, "nesting is deeper than 16 levels"),
        ("a: " + "[" * 5000 + "]" * 5000, "nesting"),
        ("a: !!python/object/apply:os.system ['ls']\n", "tags"),
        ("key: a\nkey: b\n", "duplicate key 'key'"),
        ("--- {a: 1}\n--- {b: 2}\n", "exactly one YAML document"),
        ("", "file is empty"),
        ("- just\n- a list\n", "is a mapping of keys"),
        ('a: "before\\0after"\n', "a character that cannot be shown (U+0000)"),
        ('a: "bell\\a"\n', "a character that cannot be shown (U+0007)"),
        ('"key\\x1b": 1\n', "a character that cannot be shown (U+001B)"),
        ("key: demo\nversion: " + "9" * 5000 + "\n", "2: the number 9999999999... has too many digits"),
    ],
)
def test_hostile_or_broken_yaml_is_refused(source: str, message: str) -> None:
    (problem,) = problems_of(source)
    assert message in problem


def test_an_escaped_control_character_in_a_text_is_refused_at_its_line() -> None:
    """Quoted YAML may spell a zero byte as \\0: it would pass every check, then fail to be stored."""
    data = document()
    data["title"] = {**text("Demo"), "en": "Demo\x00form"}
    source = dump(data)
    (problem,) = problems_of(source)
    line = line_of(source, "Demo\\0form")
    assert "a character that cannot be shown (U+0000)" in problem and f"demo/v1.yaml:{line}:" in problem


def test_huge_and_binary_files_are_refused_before_parsing() -> None:
    with pytest.raises(QuestionnaireError, match="may be at most 262,144 bytes"):
        load_questionnaire_bytes(b"a: b\n" * 60_000, "big/v1.yaml")
    with pytest.raises(QuestionnaireError, match="binary"):
        load_questionnaire_bytes(b"\x89PNG\r\n\x1a\n\x00\x00", "image/v1.yaml")
    with pytest.raises(QuestionnaireError, match="not UTF-8"):
        load_questionnaire_bytes("clé: é".encode("latin-1"), "latin/v1.yaml")


def test_a_huge_file_is_refused_without_being_read_into_memory(tmp_path: Path) -> None:
    folder = tmp_path / "huge"
    folder.mkdir()
    path = folder / "v1.yaml"
    with path.open("wb") as handle:
        handle.truncate(1 << 40)  # a sparse terabyte: reading it whole would exhaust memory
    with pytest.raises(QuestionnaireError, match="may be at most 262,144 bytes"):
        load_questionnaire_file(path)


def test_lint_names_the_line_of_an_example_the_scorer_does_not_reproduce(tmp_path: Path) -> None:
    data = document()
    data["examples"][1]["expect"]["scales"]["total"]["value"] = 3
    source = dump(data)
    (tmp_path / "demo").mkdir()
    path = tmp_path / "demo" / "v1.yaml"
    path.write_text(source, encoding="utf-8")
    (problem,) = lint_file(path)
    example_line = line_of(source, "name: example 1")
    assert problem.line is not None and example_line <= problem.line <= example_line + 8
    assert (
        str(problem)
        == f"{problem.source}:{problem.line}: example 'example 1': scale total: expected 3, got 10.0"
    )


def test_the_file_location_must_match_key_and_version(tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "v2.yaml").write_text(dump(document()), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire_file(folder / "v2.yaml")
    messages = "\n".join(map(str, caught.value.problems))
    assert "key 'demo' does not match its folder 'other'" in messages
    assert "version 1 does not match its file name v2.yaml" in messages
    (folder / "draft.yaml").write_text("x: 1", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"named v<N>\.yaml"):
        load_questionnaire_file(folder / "draft.yaml")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda data: data.update(version=1.0), "version:"),
        (lambda data: data.update(format=1.0), "format:"),
        (lambda data: data["scoring"]["scales"][0].update(precision=0.0), "precision:"),
        (lambda data: data["response_options"]["agree4"][0].update(code=1.0), "code: 1.0"),
    ],
)
def test_a_number_with_a_decimal_point_where_a_whole_number_belongs_is_refused_at_its_line(
    change: Callable[[dict[str, Any]], None], needle: str
) -> None:
    data = document()
    change(data)
    source = dump(data)
    (problem,) = problems_of(source)
    assert problem.startswith(f"demo/v1.yaml:{line_of(source, needle)}:")
    assert "expected a whole number, got 1.0" in problem or "expected a whole number, got 0.0" in problem


def test_true_or_false_where_a_whole_number_belongs_is_refused() -> None:
    data = with_scale(document(), precision=True)
    source = dump(data)
    (problem,) = problems_of(source)
    assert problem.startswith(f"demo/v1.yaml:{line_of(source, 'precision:')}:") and "true/false" in problem
