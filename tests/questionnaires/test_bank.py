"""The bundled instrument bank: every file is valid, every example scores as written, and the scoring facts
match the published rules (checked here independently of the examples in the files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import example_failures, score
from survey_app.questionnaires.loader import lint_file, load_questionnaire_file
from survey_app.questionnaires.registry import publication_problems, published_files

BANK = Path(__file__).resolve().parents[2] / "questionnaires"
FILES = sorted(BANK.glob("*/v*.yaml"))
INSTRUMENTS = [
    "who5",
    "promis_gh10",
    "phq9",
    "gad7",
    "k10",
    "rses",
    "mastery",
    "fisi",
    "mspss",
    "barc10",
    "arq",
    "psas",
    "top",
    "functioning",
]


def latest(key: str) -> Questionnaire:
    return load_questionnaire_file(max(BANK.glob(f"{key}/v*.yaml")))


def by_number(questionnaire: Questionnaire, codes: dict[int, int]) -> dict[str, int]:
    """Answers keyed by the authors' item numbers, turned into content ids."""
    numbered = {item.number: item.id for item in questionnaire.items}
    return {numbered[number]: code for number, code in codes.items()}


def all_items(questionnaire: Questionnaire, code: int, **exceptions: int) -> dict[str, int]:
    answers = {item.id: code for item in questionnaire.items}
    answers.update(exceptions)
    return answers


def values(questionnaire: Questionnaire, answers: dict[str, int]) -> dict[str, float | None]:
    return {scale_id: result.value for scale_id, result in score(questionnaire, answers).scales.items()}


def bands(questionnaire: Questionnaire, scale_id: str) -> list[tuple[str, float, float]]:
    return [
        (band.id, float(band.minimum), float(band.maximum)) for band in questionnaire.scale(scale_id).bands
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_file_is_valid_and_its_examples_pass(path: Path) -> None:
    assert [str(problem) for problem in lint_file(path)] == []


@pytest.mark.parametrize("path", FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_language_is_offered_and_marked(path: Path) -> None:
    questionnaire = load_questionnaire_file(path)
    assert {"en", "nl", "fr"} <= set(questionnaire.languages)
    for language, info in questionnaire.languages.items():
        assert info.source, f"{questionnaire.label}: {language} needs a source"


def test_the_whole_bank_is_present_and_published_unchanged() -> None:
    assert sorted({path.parent.name for path in FILES}) == sorted(INSTRUMENTS)
    assert publication_problems(BANK) == []
    assert {entry.path for entry in published_files(BANK)} == set(FILES)


def test_scored_files_have_three_examples_including_missing_items() -> None:
    for key in INSTRUMENTS:
        questionnaire = latest(key)
        if not questionnaire.scales:
            continue
        assert len(questionnaire.examples) >= 3, key
        assert example_failures(questionnaire) == [], key
        assert any(len(example.answers) < len(questionnaire.items) for example in questionnaire.examples), key


def test_who5() -> None:
    who5 = latest("who5")
    assert len(who5.items) == 5
    assert values(who5, all_items(who5, 5)) == {"raw": 25, "percentage": 100}
    assert bands(who5, "raw") == [("low_wellbeing", 0, 12), ("adequate", 13, 25)]
    assert score(who5, all_items(who5, 2, who5_cheerful=3)).scales["raw"].band == "low_wellbeing"  # 11
    one_missing = all_items(who5, 5)
    one_missing.pop(who5.items[0].id)
    assert values(who5, one_missing) == {"raw": None, "percentage": None}  # never prorated
    rc = who5.scale("percentage").reliable_change
    assert rc is not None and (rc.sd, rc.reliability) == (19.5, 0.81)


def test_promis_global_health() -> None:
    promis = latest("promis_gh10")
    assert len(promis.items) == 10
    assert set(promis.scales_by_id) == {"physical_raw", "physical_t", "mental_raw", "mental_t"}
    # Global07 pain 5 -> 3; Global08 3 -> 6-3 = 3; Global10 3 -> 3
    typical = values(promis, by_number(promis, {1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 5, 8: 3, 9: 3, 10: 3}))
    assert typical == {"physical_raw": 12, "physical_t": 39.8, "mental_raw": 12, "mental_t": 43.5}
    best = by_number(promis, {1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 5, 7: 0, 8: 1, 9: 5, 10: 1})
    assert values(promis, best) == {
        "physical_raw": 20,
        "physical_t": 67.7,
        "mental_raw": 20,
        "mental_t": 67.6,
    }
    worst = by_number(promis, {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 10, 8: 5, 9: 1, 10: 5})
    assert values(promis, worst) == {"physical_raw": 4, "physical_t": 16.2, "mental_raw": 4, "mental_t": 21.2}
    pain = {
        code: values(promis, by_number(promis, {3: 1, 6: 1, 7: code, 8: 5}))["physical_raw"] - 3
        for code in range(11)
    }
    assert pain == {0: 5, 1: 4, 2: 4, 3: 4, 4: 3, 5: 3, 6: 3, 7: 2, 8: 2, 9: 2, 10: 1}
    missing = by_number(promis, {1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 5, 8: 3, 9: 3})
    assert values(promis, missing)["mental_t"] is None  # never prorated
    assert values(promis, missing)["physical_t"] == 39.8


def test_phq9() -> None:
    phq9 = latest("phq9")
    assert len(phq9.items) == 9
    assert bands(phq9, "total") == [
        ("minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("moderately_severe", 15, 19),
        ("severe", 20, 27),
    ]
    result = score(phq9, all_items(phq9, 3))
    assert (result.scales["total"].value, result.scales["total"].band, result.flags) == (
        27,
        "severe",
        ("item9_risk",),
    )
    no_item9 = by_number(phq9, dict.fromkeys(range(1, 9), 1))
    result = score(phq9, no_item9)
    assert result.scales["total"].value == 9 and result.scales["total"].prorated
    assert result.flags == ("item9_unanswered",)


def test_gad7_and_k10() -> None:
    gad7 = latest("gad7")
    assert len(gad7.items) == 7 and gad7.scale("total").max_missing == 1
    assert bands(gad7, "total") == [
        ("minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("severe", 15, 21),
    ]
    assert values(gad7, all_items(gad7, 1)) == {"total": 7}
    k10 = latest("k10")
    assert len(k10.items) == 10 and k10.scale("total").max_missing == 2
    assert bands(k10, "total") == [
        ("low", 10, 15),
        ("moderate", 16, 21),
        ("high", 22, 29),
        ("very_high", 30, 50),
    ]
    assert score(k10, all_items(k10, 2)).scales["total"].band == "moderate"
    assert score(k10, all_items(k10, 5)).scales["total"].value == 50


def test_rses_uses_the_maryland_order_and_0_to_3_coding() -> None:
    rses = latest("rses")
    assert len(rses.items) == 10 and rses.scale("total").max_missing == 2
    reversed_numbers = sorted(rses.item(item_id).number for item_id in rses.scale("total").reverse)
    assert reversed_numbers == [2, 5, 6, 8, 9]
    assert values(rses, all_items(rses, 3)) == {"total": 15}  # agreeing with everything
    best = by_number(rses, {n: (0 if n in (2, 5, 6, 8, 9) else 3) for n in range(1, 11)})
    assert score(rses, best).scales["total"].value == 30
    assert bands(rses, "total") == [("low", 0, 14), ("normal", 15, 25), ("high", 26, 30)]


def test_mastery_fisi_mspss() -> None:
    mastery = latest("mastery")
    reversed_numbers = sorted(mastery.item(item_id).number for item_id in mastery.scale("total").reverse)
    assert reversed_numbers == [1, 2, 3, 5, 7]
    assert values(mastery, all_items(mastery, 4)) == {"total": 5 * 1 + 2 * 4}
    fisi = latest("fisi")
    assert values(fisi, all_items(fisi, 7)) == {"mean": 7}
    one_missing = all_items(fisi, 7)
    one_missing.pop(fisi.items[0].id)
    assert values(fisi, one_missing) == {"mean": None}
    mspss = latest("mspss")
    answers = by_number(mspss, {1: 7, 2: 7, 5: 7, 10: 7, 3: 1, 4: 1, 8: 1, 11: 1, 6: 4, 7: 4, 9: 4, 12: 4})
    result = score(mspss, answers)
    assert {k: (v.value, v.band) for k, v in result.scales.items()} == {
        "significant_other": (7, "high"),
        "family": (1, "low"),
        "friends": (4, "moderate"),
        "total": (4, "moderate"),
    }
    two_family_missing = {k: v for k, v in answers.items() if mspss.item(k).number not in (3, 4)}
    assert values(mspss, two_family_missing)["family"] is None
    assert values(mspss, two_family_missing)["total"] is None


def test_recovery_capital_and_stigma() -> None:
    barc10 = latest("barc10")
    assert bands(barc10, "total") == [("below_threshold", 10, 46), ("sustained_remission_range", 47, 60)]
    assert score(barc10, all_items(barc10, 5)).scales["total"].band == "sustained_remission_range"
    assert values(barc10, all_items(barc10, 1)) == {"total": 10}
    arq = latest("arq")
    assert values(arq, all_items(arq, 2)) == {
        "normal_living": 10,
        "abstinence": 8,
        "positive_expectancy": 6,
        "total": 24,
    }
    assert arq.form_missing is not None and arq.form_missing.max_missing == 2
    psas = latest("psas")
    reversed_numbers = sorted(psas.item(item_id).number for item_id in psas.scale("total").reverse)
    assert reversed_numbers == [1, 2, 3, 4, 6, 8]
    assert values(psas, all_items(psas, 1)) == {"total": 6 * 4 + 2 * 1}


def test_top_never_scores_not_disclosed_as_zero() -> None:
    top = latest("top")
    assert {"alcohol_days", "injecting_days", "psych_health", "quality_of_life"} <= set(top.scales_by_id)
    assert all(not scale.bands for scale in top.scales)
    for scale in top.scales:
        for item_id in scale.items:
            item = top.item(item_id)
            if item.type.is_number:
                assert item.missing_codes, f"{item_id} needs a 'rather not say' option"


def test_the_bank_covers_every_life_domain() -> None:
    covered = {latest(key).domain.value for key in INSTRUMENTS}
    assert {
        "health",
        "self_esteem",
        "identity",
        "relationships",
        "recovery_capital",
        "stigma",
        "substance_use",
        "functioning",
    } <= covered


def test_arq_scales_carry_the_authors_form_wide_missing_rule_not_a_project_rule() -> None:
    from survey_app.services.exports.codebook import describe_scale

    arq = latest("arq")
    assert arq.form_missing is not None and arq.form_missing.rule == "author"
    assert {(scale.max_missing, scale.missing_rule) for scale in arq.scales} == {(2, "author")}
    for scale in arq.scales:
        assert "project rule" not in describe_scale(scale), scale.id
