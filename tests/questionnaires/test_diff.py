"""Item-level differences between versions and the comparability of their scores."""

from __future__ import annotations

import copy

from survey_app.questionnaires.diff import diff_versions, scores_comparable
from tests.builders import build, choice_item, document, text


def versions(change) -> tuple:
    old = document(key="rses", version=1)
    new = copy.deepcopy(old)
    new["version"] = 2
    change(new)
    return build(old), build(new)


def kinds(diff) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for change in diff.items:
        found.setdefault(change.kind, set()).add(change.item_id)
    return found


def test_an_identical_version_without_a_declaration_is_not_comparable() -> None:
    old, new = versions(lambda data: None)
    diff = diff_versions(old, new)
    assert diff.items == ()
    (total,) = diff.scales
    assert total.comparable is False
    assert (
        "not declared comparable in v2, so trends show a break; scoring and items unchanged" in total.reason
    )


def test_reworded_recoded_added_removed_and_rescored_items() -> None:
    def change(data: dict) -> None:
        items = data["sections"][0]["items"]
        items[0]["text"]["nl"] = "Nieuwe zin"
        items[1]["options"] = [{"code": code, "label": text(f"o{code}")} for code in range(0, 4)]
        items.pop(4)  # q5 removed
        items.append(choice_item("q6"))
        scale = data["scoring"]["scales"][0]
        scale["items"] = ["q1", "q2", "q3", "q4", "q6"]
        scale["reverse"] = ["q3"]
        scale["range"] = [4, 19]
        for example in data["examples"]:
            example["answers"] = {"q1": 2, "q2": 2, "q3": 2, "q4": 2, "q6": 2}
            example["expect"] = {"scales": {"total": {"value": 11}}}

    old, new = versions(change)
    found = kinds(diff_versions(old, new))
    assert found == {
        "reworded": {"q1"},
        "recoded": {"q2"},
        "removed": {"q5"},
        "added": {"q6"},
        "rescored": {"q3"},
    }
    reworded = next(c for c in diff_versions(old, new).items if c.kind == "reworded")
    assert reworded.detail == "text changed in nl"


def test_declared_comparability_with_renamed_items() -> None:
    def change(data: dict) -> None:
        items = data["sections"][0]["items"]
        items[2]["id"] = "q3_v2"
        items[2]["text"]["en"] = "Clearer wording"
        scale = data["scoring"]["scales"][0]
        scale["items"] = ["q1", "q2", "q3_v2", "q4", "q5"]
        for example in data["examples"]:
            example["answers"] = {"q1": 2, "q2": 2, "q3_v2": 2, "q4": 2, "q5": 2}
        data["comparable_with"] = [{"version": 1, "items": {"q3_v2": "q3"}, "note": "Cognitive interviews."}]

    old, new = versions(change)
    diff = diff_versions(old, new)
    assert [(c.kind, c.item_id, c.previous_id) for c in diff.items] == [("reworded", "q3_v2", "q3")]
    (total,) = diff.scales
    assert total.comparable is True
    assert total.scoring_changed is True
    assert "declared comparable in v2 (Cognitive interviews.)" in total.reason
    assert scores_comparable(new, 1, "total") is True
    assert "reworded  q3_v2 (was q3)" in diff.to_text()


def test_comparability_can_be_limited_to_some_scales() -> None:
    def change(data: dict) -> None:
        data["scoring"]["scales"].append(
            {
                "id": "pct",
                "label": text("Pct"),
                "method": "transform",
                "of": "total",
                "multiply": 5,
                "range": [25, 100],
                "precision": 0,
                "direction": "higher_is_better",
            }
        )
        data["comparable_with"] = [{"version": 1, "scales": ["total"]}]

    old, new = versions(change)
    assert scores_comparable(new, 1, "total") is True
    assert scores_comparable(new, 1, "pct") is False
    pct = next(s for s in diff_versions(old, new).scales if s.scale_id == "pct")
    assert pct.reason == "new in v2"
