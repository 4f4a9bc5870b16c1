"""Scoring rules on small questionnaires built through the real loader."""

from __future__ import annotations

import pytest

from survey_app.domain.scoring import (
    NotScored,
    band_for,
    hidden_items,
    round_half_up,
    rule_inputs,
    score,
    why_not_scored,
)
from tests.builders import build, choice_item, document, text, with_scale

IDS = ["q1", "q2", "q3", "q4", "q5"]


def answers(*codes: int | None) -> dict[str, int]:
    return {item_id: code for item_id, code in zip(IDS * 4, codes, strict=False) if code is not None}


def test_sum_of_raw_codes() -> None:
    result = score(build(), answers(1, 2, 3, 4, 4))
    total = result.scales["total"]
    assert (total.value, total.prorated, total.missing) == (14, False, 0)


def test_reverse_keys_use_the_item_own_lowest_and_highest_code() -> None:
    questionnaire = build(with_scale(document(), reverse=["q2", "q5"]))
    # q2 = 1 -> 4 and q5 = 4 -> 1 on a 1-4 item
    assert score(questionnaire, answers(1, 1, 1, 1, 4)).scales["total"].value == 1 + 4 + 1 + 1 + 1


def test_project_rule_allows_one_missing_of_five_and_prorates_with_the_mean() -> None:
    total = score(build(), answers(1, 2, 3, 4, None)).scales["total"]
    assert total.value == pytest.approx(2.5 * 5)
    assert total.prorated is True
    assert total.missing == 1


def test_more_missing_than_allowed_is_not_scored_never_zero() -> None:
    total = score(build(), answers(1, 2, 3, None, None)).scales["total"]
    assert total.value is None
    assert total.band is None
    assert total.missing == 2


def test_project_rule_is_a_fifth_of_the_items_rounded_down() -> None:
    ten = build(document(item_count=10))
    assert ten.scale("total").max_missing == 2
    four = build(document(item_count=4))
    assert four.scale("total").max_missing == 0


def test_explicit_rule_with_no_missing_allowed() -> None:
    questionnaire = build(with_scale(document(), missing={"max_missing": 0, "rule": "author"}))
    assert score(questionnaire, answers(1, 2, 3, 4, None)).scales["total"].value is None
    assert questionnaire.scale("total").missing_rule == "author"


def test_mean_and_weights() -> None:
    data = with_scale(document(), method="mean", range=[1, 4], precision=2)
    assert score(build(data), answers(1, 2, 3, 4, 4)).scales["total"].value == pytest.approx(2.8)
    weighted = with_scale(document(), weights={"q1": 2}, range=[6, 24])
    assert score(build(weighted), answers(4, 1, 1, 1, 1)).scales["total"].value == 12


def test_weighted_prorating_imputes_the_mean_of_answered_items_for_each_missing_weight() -> None:
    weighted = with_scale(document(), weights={"q1": 2}, range=[6, 24])
    # q1 missing: mean of answered (2, 2, 2, 4) = 2.5, imputed with weight 2 -> 5 + 10
    assert score(build(weighted), {"q2": 2, "q3": 2, "q4": 2, "q5": 4}).scales[
        "total"
    ].value == pytest.approx(15)


def test_recode_before_summing() -> None:
    data = with_scale(document(), recode={"q1": {1: 4, 2: 4, 3: 1, 4: 1}})
    assert score(build(data), answers(1, 1, 1, 1, 1)).scales["total"].value == 8


def test_recode_and_reverse_on_one_item_is_refused() -> None:
    from survey_app.questionnaires.problems import QuestionnaireError

    data = with_scale(document(), recode={"q1": {1: 4, 2: 3, 3: 2, 4: 1}}, reverse=["q1"])
    with pytest.raises(QuestionnaireError, match="both recoded and reversed"):
        build(data)


def _with_derived(*extra_scales: dict) -> dict:
    data = document()
    data["scoring"]["scales"].extend(extra_scales)
    return data


def test_transform_and_lookup_follow_their_source_and_its_prorating() -> None:
    table = {value: value * 10.0 for value in range(5, 21)}
    data = _with_derived(
        {
            "id": "pct",
            "label": text("Pct"),
            "method": "transform",
            "of": "total",
            "multiply": 5,
            "add": -25,
            "range": [0, 75],
            "precision": 0,
            "direction": "higher_is_better",
        },
        {
            "id": "t",
            "label": text("T"),
            "method": "lookup",
            "of": "total",
            "table": table,
            "range": [50, 200],
            "precision": 1,
            "direction": "higher_is_better",
        },
    )
    questionnaire = build(data)
    full = score(questionnaire, answers(1, 2, 3, 4, 4))
    assert full.scales["pct"].value == 14 * 5 - 25
    assert full.scales["t"].value == 140
    prorated = score(questionnaire, answers(1, 2, 3, 4, None))  # total 12.5 -> rounds half up to 13
    assert prorated.scales["t"].value == 130
    assert prorated.scales["t"].prorated is True
    assert prorated.scales["pct"].missing == 1
    missing = score(questionnaire, answers(1, 2, 3, None, None))
    assert missing.scales["pct"].value is None and missing.scales["t"].value is None


def test_bands_are_picked_after_rounding_half_up_at_the_scale_precision() -> None:
    bands = [
        {"id": "low", "min": 5, "max": 12, "label": text("Low")},
        {"id": "high", "min": 13, "max": 20, "label": text("High")},
    ]
    questionnaire = build(with_scale(document(), bands=bands))
    scale = questionnaire.scale("total")
    assert band_for(scale, 12.49) == "low"
    assert band_for(scale, 12.5) == "high"
    assert score(questionnaire, answers(4, 4, 2, 2, None)).scales["total"].band == "high"  # 3 * 5 = 15


def test_rounding_ignores_binary_float_noise() -> None:
    assert str(round_half_up(2.675, 2)) == "2.68"
    assert str(round_half_up(0.1 + 0.2, 1)) == "0.3"
    assert str(round_half_up(14.5, 0)) == "15"


def test_requires_leaves_a_total_unscored_when_a_subscale_is() -> None:
    data = document()
    data["scoring"]["scales"] = [
        {
            "id": "a",
            "label": text("A"),
            "method": "mean",
            "items": ["q1", "q2"],
            "missing": {"max_missing": 0},
            "range": [1, 4],
            "precision": 2,
            "direction": "higher_is_better",
        },
        {
            "id": "b",
            "label": text("B"),
            "method": "mean",
            "items": ["q3", "q4", "q5"],
            "missing": {"max_missing": 1},
            "range": [1, 4],
            "precision": 2,
            "direction": "higher_is_better",
        },
        {
            "id": "all",
            "label": text("All"),
            "method": "mean",
            "items": IDS,
            "requires": ["a", "b"],
            "missing": {"max_missing": 2},
            "range": [1, 4],
            "precision": 2,
            "direction": "higher_is_better",
        },
    ]
    data["examples"] = [
        {"name": f"e{n}", "answers": answers(1, 1, 1, 1, 1), "expect": {"scales": {"all": {"value": 1}}}}
        for n in range(3)
    ]
    questionnaire = build(data)
    scored = score(questionnaire, answers(1, 3, 2, 4, None))
    assert scored.scales["all"].value == pytest.approx(2.5)
    assert scored.scales["all"].prorated is True
    unscored = score(questionnaire, answers(1, None, 2, 4, 4))
    assert unscored.scales["a"].value is None
    assert unscored.scales["all"].value is None
    assert unscored.scales["all"].missing == 1


def _form_wide_document() -> dict:
    data = document()
    data["scoring"] = {
        "missing": {"scope": "form", "max_missing": 2, "impute": "form_mean", "rule": "author"},
        "scales": [
            {
                "id": "a",
                "label": text("A"),
                "method": "sum",
                "items": ["q1", "q2"],
                "range": [2, 8],
                "precision": 0,
                "direction": "higher_is_better",
            },
            {
                "id": "b",
                "label": text("B"),
                "method": "sum",
                "items": ["q3", "q4", "q5"],
                "range": [3, 12],
                "precision": 0,
                "direction": "higher_is_better",
            },
        ],
    }
    data["examples"] = [
        {"name": f"e{n}", "answers": answers(1, 1, 1, 1, 1), "expect": {"scales": {"a": {"value": 2}}}}
        for n in range(3)
    ]
    return data


def test_form_wide_rule_imputes_with_the_mean_of_every_valid_answer() -> None:
    questionnaire = build(_form_wide_document())
    # q1 and q2 missing: form mean of (4, 4, 1) = 3, so a = 6 even though a has no answer of its own
    two_missing = score(questionnaire, {"q3": 4, "q4": 4, "q5": 1})
    assert two_missing.scales["a"].value == pytest.approx(6)
    assert two_missing.scales["a"].prorated is True
    assert two_missing.scales["b"].value == 9
    assert two_missing.scales["b"].prorated is False
    three_missing = score(questionnaire, {"q4": 4, "q5": 1})
    assert three_missing.scales["a"].value is None
    assert three_missing.scales["b"].value is None


def _skip_document() -> dict:
    data = document(item_count=3)
    data["sections"][0]["items"].append(choice_item("q4", show_if="q1 >= 3"))
    data["sections"][0]["items"].append(choice_item("q5", show_if="q4 == 4"))
    data["scoring"]["scales"] = [
        {
            "id": "total",
            "label": text("Total"),
            "method": "sum",
            "items": ["q1", "q2", "q3"],
            "range": [3, 12],
            "precision": 0,
            "direction": "higher_is_better",
        },
        {
            "id": "follow_up",
            "label": text("Follow-up"),
            "method": "sum",
            "items": ["q4", "q5"],
            "missing": {"max_missing": 0},
            "range": [2, 8],
            "precision": 0,
            "direction": "higher_is_better",
        },
    ]
    for example in data["examples"]:
        example["answers"] = {"q1": 1, "q2": 1, "q3": 1}
        example["expect"] = {"scales": {"total": {"value": 3}, "follow_up": {"value": None, "missing": 0}}}
    return data


def test_items_hidden_by_skip_rules_are_not_applicable_not_missing() -> None:
    questionnaire = build(_skip_document())
    hidden = score(questionnaire, {"q1": 1, "q2": 1, "q3": 1})
    assert hidden.scales["follow_up"].value is None
    assert hidden.scales["follow_up"].missing == 0
    assert hidden.scales["follow_up"].applicable is False
    assert hidden_items(questionnaire, {"q1": 1}) == {"q4", "q5"}


def test_a_hidden_item_counts_as_unanswered_in_later_rules_and_its_stale_answer_is_ignored() -> None:
    questionnaire = build(_skip_document())
    # q4 was answered 4 before q1 changed to 1: q4 is now hidden, so q5 is hidden as well
    result = score(questionnaire, {"q1": 1, "q2": 1, "q3": 1, "q4": 4, "q5": 4})
    assert hidden_items(questionnaire, {"q1": 1, "q4": 4}) == {"q4", "q5"}
    assert result.scales["follow_up"].value is None
    shown = score(questionnaire, {"q1": 3, "q2": 1, "q3": 1, "q4": 4, "q5": 2})
    assert shown.scales["follow_up"].value == 6


def test_the_skip_rules_read_only_their_inputs_so_the_other_answers_change_nothing() -> None:
    questionnaire = build(_skip_document())
    assert rule_inputs(questionnaire) == {"q1", "q4"}
    everything = {"q1": 1, "q2": 3, "q3": 2, "q4": 4, "q5": 4}
    inputs_only = {item: value for item, value in everything.items() if item in rule_inputs(questionnaire)}
    assert hidden_items(questionnaire, inputs_only) == hidden_items(questionnaire, everything) == {"q4", "q5"}


def test_a_declined_answer_counts_as_missing_never_as_its_code() -> None:
    data = document()
    data["response_options"]["agree4"].append({"code": 9, "label": text("Rather not say"), "missing": True})
    questionnaire = build(data)
    total = score(questionnaire, answers(1, 2, 3, 4, 9)).scales["total"]
    assert total.value == pytest.approx(12.5)
    assert total.missing == 1


def test_flags_see_declined_answers_as_unanswered() -> None:
    data = document()
    data["response_options"]["agree4"].append({"code": 9, "label": text("Rather not say"), "missing": True})
    data["scoring"]["flags"] = [
        {"id": "high_q5", "when": "q5 >= 3", "severity": "urgent", "label": text("High")},
        {
            "id": "q5_unanswered",
            "when": "not answered(q5)",
            "severity": "attention",
            "label": text("Unanswered"),
        },
    ]
    questionnaire = build(data)
    assert score(questionnaire, answers(1, 1, 1, 1, 3)).flags == ("high_q5",)
    assert score(questionnaire, answers(1, 1, 1, 1, 9)).flags == ("q5_unanswered",)
    assert score(questionnaire, answers(1, 1, 1, 1)).flags == ("q5_unanswered",)
    assert score(questionnaire, answers(1, 1, 1, 1, 1)).flags == ()


def test_a_declined_multiple_choice_counts_as_unanswered_in_rules_and_flags() -> None:
    data = document()
    data["sections"][0]["items"] += [
        {
            "id": "income",
            "type": "multiple_choice",
            "text": text("Income from"),
            "options": [
                {"code": 1, "label": text("Work")},
                {"code": 2, "label": text("Benefit")},
                {"code": 9, "label": text("Rather not say"), "missing": True},
            ],
        },
        choice_item("income_enough", show_if="answered(income)"),
    ]
    data["scoring"]["flags"] = [
        {"id": "no_income", "when": "not answered(income)", "severity": "attention", "label": text("No")}
    ]
    questionnaire = build(data)
    declined = {**answers(1, 1, 1, 1, 1), "income": [9], "income_enough": 2}
    assert hidden_items(questionnaire, declined) == {"income_enough"}
    assert score(questionnaire, declined).flags == ("no_income",)
    given = {**declined, "income": [1, 2]}
    assert hidden_items(questionnaire, given) == frozenset()
    assert score(questionnaire, given).flags == ()


def test_result_json_shape_prints_whole_numbers_without_decimals() -> None:
    result = score(build(), answers(1, 2, 3, 4, None)).to_json()
    assert result == {
        "key": "demo",
        "version": 1,
        "scales": {"total": {"value": 12.5, "band": None, "prorated": True, "missing": 1}},
        "flags": [],
    }
    whole = score(build(), answers(1, 2, 3, 4, 4)).to_json()
    assert whole["scales"]["total"]["value"] == 14
    assert isinstance(whole["scales"]["total"]["value"], int)


def test_why_a_scale_was_not_scored_tells_missing_items_from_items_never_asked() -> None:
    plain = build(document())
    assert why_not_scored(plain, "total", missing=5) is NotScored.TOO_MANY_MISSING
    assert why_not_scored(plain, "total", missing=0) is None  # no skip rule could hide the items
    data = document()
    data["sections"][0]["show_if"] = "false"
    for example in data["examples"]:
        example["expect"]["scales"]["total"]["value"] = None
    hidden = build(data)
    assert score(hidden, {}).scales["total"].value is None
    assert why_not_scored(hidden, "total", missing=0) is NotScored.NOT_ASKED


def test_under_a_form_wide_rule_every_scale_is_not_scored_for_too_many_missing() -> None:
    data = _form_wide_document()
    data["sections"][0]["items"].append(choice_item("q6"))
    data["scoring"]["scales"][0].update(items=["q1", "q2", "q6"], range=[3, 12])
    for example in data["examples"]:
        example["expect"]["scales"]["a"]["value"] = 3  # q6 missing: imputed with the form mean, 1
    questionnaire = build(data)
    three_missing = score(questionnaire, {"q3": 4, "q4": 4, "q5": 1})  # every item of b answered
    b = three_missing.scales["b"]
    assert (b.value, b.missing) == (None, 0)
    assert why_not_scored(questionnaire, "b", b.missing) is NotScored.TOO_MANY_MISSING
