"""What changed between two versions of a questionnaire, item by item, and whether scores stay comparable.

Scores of two versions are joined (in trends and exports) only where the later version declares it in
`comparable_with`; the diff also says where scoring changed, so a declaration can be checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey_app.domain.questionnaire import Item, Questionnaire, Scale


@dataclass(frozen=True, slots=True)
class ItemChange:
    """One change to one item: added, removed, reworded, recoded or rescored."""

    kind: str
    item_id: str
    previous_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ScaleComparability:
    """Whether one scale's scores can be joined across the two versions, and why."""

    scale_id: str
    comparable: bool
    declared: bool
    scoring_changed: bool
    reason: str


@dataclass(frozen=True)
class VersionDiff:
    """The item-level changes between two versions and the comparability of every scale."""

    key: str
    old_version: int
    new_version: int
    items: tuple[ItemChange, ...]
    scales: tuple[ScaleComparability, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return {
            "key": self.key,
            "from": self.old_version,
            "to": self.new_version,
            "items": [
                {"change": c.kind, "item": c.item_id, "previous_item": c.previous_id, "detail": c.detail}
                for c in self.items
            ],
            "scales": [
                {
                    "scale": s.scale_id,
                    "comparable": s.comparable,
                    "declared": s.declared,
                    "scoring_changed": s.scoring_changed,
                    "reason": s.reason,
                }
                for s in self.scales
            ],
        }

    def to_text(self) -> str:
        """A readable report for the command line."""
        lines = [f"{self.key}: v{self.old_version} -> v{self.new_version}"]
        lines.append("Items:" if self.items else "Items: no changes")
        for change in self.items:
            renamed = (
                f" (was {change.previous_id})"
                if change.previous_id and change.previous_id != change.item_id
                else ""
            )
            lines.append(f"  {change.kind:<9} {change.item_id}{renamed}: {change.detail}")
        lines.append("Scales:")
        for scale in self.scales:
            verdict = "comparable" if scale.comparable else "NOT comparable"
            lines.append(f"  {scale.scale_id}: {verdict}: {scale.reason}")
        return "\n".join(lines)


def scores_comparable(newer: Questionnaire, older_version: int, scale_id: str) -> bool:
    """True when `newer` declares its `scale_id` scores comparable with those of `older_version`."""
    if newer.version == older_version:
        return True
    declaration = newer.comparability_with(older_version)
    if declaration is None or scale_id not in newer.scales_by_id:
        return False
    return declaration.scales is None or scale_id in declaration.scales


def declaration_problems(newer: Questionnaire, versions: Mapping[int, Questionnaire]) -> list[str]:
    """What is wrong with a version's `comparable_with`, judged against the other versions of its key.

    Each declared version must exist, with the items and scales the declaration names. A declaration must
    also state every join it implies: when v3 declares a scale comparable with v2, and v2 declares it
    comparable with v1, v3 must declare v1 too, because exports put joined versions in shared columns (a
    chain joins them all) while trends compare two versions directly, and the two must agree.
    """
    problems = []
    for declaration in newer.comparable_with:
        middle = versions.get(declaration.version)
        if middle is None:
            problems.append(
                f"v{newer.version} declares scores comparable with v{declaration.version}, "
                "which is not published"
            )
            continue
        problems.extend(
            f"v{newer.version} maps item {new_id} to '{old_id}', which v{middle.version} does not have"
            for new_id, old_id in declaration.items.items()
            if old_id not in middle.items_by_id
        )
        problems.extend(
            f"scale {scale_id}: v{middle.version} has no such scale to be comparable with"
            for scale_id in declaration.scales or ()
            if scale_id not in middle.scales_by_id
        )
        problems.extend(_unstated_joins(newer, middle, versions))
    return problems


def _unstated_joins(
    newer: Questionnaire, middle: Questionnaire, versions: Mapping[int, Questionnaire]
) -> list[str]:
    return [
        f"scale {scale.id}: v{newer.version} declares it comparable with v{middle.version}, which is "
        f"comparable with v{older}; declare v{older} as well, or neither (trends and exports join versions "
        "only where that is declared)"
        for scale in newer.scales
        if scores_comparable(newer, middle.version, scale.id)
        for older in sorted(versions)
        if older < middle.version
        and scale.id in versions[older].scales_by_id
        and scores_comparable(middle, older, scale.id)
        and not scores_comparable(newer, older, scale.id)
    ]


def diff_versions(old: Questionnaire, new: Questionnaire) -> VersionDiff:
    """Compare two versions of one questionnaire."""
    if old.key != new.key:
        raise ValueError(f"cannot compare '{old.key}' with '{new.key}'")
    declaration = new.comparability_with(old.version)
    renamed = dict(declaration.items) if declaration else {}
    previous_of = {item.id: renamed.get(item.id, item.id) for item in new.items}
    matched_old = {previous_of[item.id] for item in new.items if previous_of[item.id] in old.items_by_id}
    changes: list[ItemChange] = []
    for item in new.items:
        previous_id = previous_of[item.id]
        before = old.items_by_id.get(previous_id)
        if before is None:
            changes.append(ItemChange("added", item.id, None, _short(item)))
            continue
        changes.extend(_item_changes(before, item, previous_id))
        if _scoring_roles(old, previous_id) != _scoring_roles(new, item.id):
            changes.append(
                ItemChange(
                    "rescored", item.id, previous_id, "its scales, reverse key, recode or weight changed"
                )
            )
    for item in old.items:
        if item.id not in matched_old:
            changes.append(ItemChange("removed", item.id, None, _short(item)))
    changed_items = {change.item_id for change in changes}
    scales = tuple(_scale_comparability(old, new, scale, previous_of, changed_items) for scale in new.scales)
    dropped = tuple(
        ScaleComparability(scale.id, False, False, True, f"removed in v{new.version}")
        for scale in old.scales
        if scale.id not in new.scales_by_id
    )
    return VersionDiff(new.key, old.version, new.version, tuple(changes), scales + dropped)


def _short(item: Item) -> str:
    text = item.text.get("en", "")
    return text if len(text) <= 60 else text[:57] + "..."


def _item_changes(before: Item, after: Item, previous_id: str) -> list[ItemChange]:
    changes = []
    languages = sorted(
        language
        for language in set(before.text) | set(after.text)
        if before.text.get(language) != after.text.get(language)
    )
    if languages:
        changes.append(
            ItemChange("reworded", after.id, previous_id, f"text changed in {', '.join(languages)}")
        )
    details = []
    if before.type != after.type:
        details.append(f"type {before.type.value} -> {after.type.value}")
    if [(o.code, o.missing) for o in before.options] != [(o.code, o.missing) for o in after.options]:
        details.append(f"codes {[o.code for o in before.options]} -> {[o.code for o in after.options]}")
    elif [o.label for o in before.options] != [o.label for o in after.options]:
        details.append("option labels changed")
    if (before.minimum, before.maximum, before.step) != (after.minimum, after.maximum, after.step):
        details.append(f"range {before.minimum}-{before.maximum} -> {after.minimum}-{after.maximum}")
    if details:
        changes.append(ItemChange("recoded", after.id, previous_id, "; ".join(details)))
    return changes


def _scoring_roles(questionnaire: Questionnaire, item_id: str) -> set[tuple[Any, ...]]:
    """How an item takes part in scoring: (scale, reversed, recode, weight) for each scale it is in."""
    roles = set()
    for scale in questionnaire.scales:
        if item_id in scale.items:
            recode = tuple(sorted(scale.recode.get(item_id, {}).items()))
            roles.add((scale.id, item_id in scale.reverse, recode, scale.weights.get(item_id, 1.0)))
    return roles


def _scale_signature(scale: Scale, previous_of: dict[str, str] | None) -> tuple[Any, ...]:
    rename = previous_of or {}
    items = tuple(rename.get(item_id, item_id) for item_id in scale.items)
    return (
        scale.method,
        items,
        frozenset(rename.get(item_id, item_id) for item_id in scale.reverse),
        tuple(sorted((rename.get(k, k), tuple(sorted(v.items()))) for k, v in scale.recode.items())),
        tuple(sorted((rename.get(k, k), v) for k, v in scale.weights.items())),
        scale.max_missing,
        scale.requires,
        scale.of,
        scale.multiply,
        scale.add,
        tuple(sorted(scale.table.items())),
        scale.range,
    )


def _scale_comparability(
    old: Questionnaire, new: Questionnaire, scale: Scale, previous_of: dict[str, str], changed_items: set[str]
) -> ScaleComparability:
    before = old.scales_by_id.get(scale.id)
    declared = scores_comparable(new, old.version, scale.id)
    if before is None:
        reason = f"new in v{new.version}"
        return ScaleComparability(scale.id, declared, declared, True, reason)
    scoring_changed = _scale_signature(before, None) != _scale_signature(scale, previous_of)
    items_changed = sorted(item_id for item_id in scale.items if item_id in changed_items)
    what = []
    if scoring_changed:
        what.append("scoring rules changed")
    if items_changed:
        what.append(f"items changed: {', '.join(items_changed)}")
    changed = "; ".join(what) or "scoring and items unchanged"
    if declared:
        declaration = new.comparability_with(old.version)
        note = f" ({declaration.note})" if declaration and declaration.note else ""
        reason = f"declared comparable in v{new.version}{note}; {changed}"
    else:
        reason = f"not declared comparable in v{new.version}, so trends show a break; {changed}"
    return ScaleComparability(scale.id, declared, declared, bool(what), reason)
