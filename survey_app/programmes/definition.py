"""Read and check a programme definition file (pure: no web, no database)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from survey_app.domain.questionnaire import REQUIRED_LANGUAGES, Text
from survey_app.questionnaires.yaml_source import YamlSourceError, decode_source, read_capped, read_yaml

DEFAULT_PROGRAMME = Path(__file__).with_name("drug_treatment_court.yaml")
_KEY_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class ProgrammeDefinitionError(ValueError):
    """A programme definition is not valid; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class BatteryEntry:
    """One questionnaire of a timepoint's battery."""

    questionnaire: str
    version: int | None
    core: bool


@dataclass(frozen=True)
class TimepointDefinition:
    """A measurement occasion: `offset_days` after its anchor date, with a window around it."""

    key: str
    label: Text
    anchor: str
    offset_days: int
    window_before_days: int
    window_after_days: int
    battery: tuple[BatteryEntry, ...]


@dataclass(frozen=True)
class ProgrammeDefinition:
    """A programme's schedule and batteries."""

    key: str
    name: Text
    description: Text
    anchors: tuple[str, ...]
    timepoints: tuple[TimepointDefinition, ...]


def load_programme_definition(
    path: Path, published_versions: Callable[[str], list[int]]
) -> ProgrammeDefinition:
    """Read a definition and check it against the published questionnaires (`key -> versions`)."""
    try:
        data = read_yaml(decode_source(read_capped(path))).data
    except YamlSourceError as error:
        raise ProgrammeDefinitionError(f"{path.name}: {error}") from None
    problems: list[str] = []
    definition = _build(data, problems, published_versions)
    if problems or definition is None:
        raise ProgrammeDefinitionError(f"{path.name}: " + "; ".join(problems))
    return definition


def _is_key(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 40
        and value[0].isalpha()
        and set(value) <= _KEY_CHARACTERS
    )


def _text(value: Any, where: str, problems: list[str]) -> Text:
    if not isinstance(value, dict) or any(
        not isinstance(value.get(lang), str) for lang in REQUIRED_LANGUAGES
    ):
        problems.append(f"{where} needs a text in each of {', '.join(REQUIRED_LANGUAGES)}")
        return {}
    return dict(value)


def _battery(
    raw: Any, where: str, problems: list[str], versions: Callable[[str], list[int]]
) -> tuple[BatteryEntry, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: battery must list at least one questionnaire")
        return ()
    entries = []
    for entry in raw:
        key = entry.get("questionnaire") if isinstance(entry, dict) else None
        version = entry.get("version") if isinstance(entry, dict) else None
        published = versions(key) if isinstance(key, str) else []
        if not isinstance(key, str) or not published:
            problems.append(f"{where}: unknown questionnaire {key!r} (not published)")
            continue
        if version is not None and version not in published:
            problems.append(f"{where}: {key} has no published version {version}")
            continue
        entries.append(BatteryEntry(key, version, bool(entry.get("core", True))))
    keys = [entry.questionnaire for entry in entries]
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        problems.append(f"{where}: {key} is listed twice")
    if entries and not any(entry.core for entry in entries):
        problems.append(f"{where}: at least one questionnaire must be core")
    return tuple(entries)


def _build(
    data: Any, problems: list[str], versions: Callable[[str], list[int]]
) -> ProgrammeDefinition | None:
    if not isinstance(data, dict):
        problems.append("a programme definition is a mapping")
        return None
    if not _is_key(data.get("key")):
        problems.append("key must be lower-case letters, digits and _")
    anchors = tuple(data.get("anchors") or ("intake",))
    if "intake" not in anchors or not all(_is_key(anchor) for anchor in anchors):
        problems.append("anchors must be keys and include 'intake'")
    shared = data.get("battery")
    timepoints = []
    for index, raw in enumerate(data.get("timepoints") or []):
        where = f"timepoint {raw.get('key', index + 1) if isinstance(raw, dict) else index + 1}"
        if not isinstance(raw, dict) or not _is_key(raw.get("key")):
            problems.append(f"{where}: needs a key")
            continue
        numbers = [raw.get(name, 0) for name in ("offset_days", "window_before_days", "window_after_days")]
        if not all(
            isinstance(number, int) and not isinstance(number, bool) and number >= 0 for number in numbers
        ):
            problems.append(f"{where}: offset and windows are whole numbers of days, 0 or more")
            continue
        if raw.get("anchor", "intake") not in anchors:
            problems.append(f"{where}: anchor {raw.get('anchor')!r} is not one of {', '.join(anchors)}")
        battery = _battery(raw.get("battery", shared), where, problems, versions)
        offset, before, after = numbers
        timepoints.append(
            TimepointDefinition(
                raw["key"],
                _text(raw.get("label"), where, problems),
                raw.get("anchor", "intake"),
                offset,
                before,
                after,
                battery,
            )
        )
    if not timepoints:
        problems.append("a programme needs at least one timepoint")
    problems.extend(window_problems(timepoints))
    return ProgrammeDefinition(
        data.get("key", ""),
        _text(data.get("name"), "name", problems),
        _text(data.get("description"), "description", problems),
        anchors,
        tuple(timepoints),
    )


class Windowed(Protocol):
    """What the window check needs of a timepoint."""

    @property
    def key(self) -> str: ...

    @property
    def anchor(self) -> str: ...

    @property
    def offset_days(self) -> int: ...

    @property
    def window_before_days(self) -> int: ...

    @property
    def window_after_days(self) -> int: ...


def overlapping_windows(timepoints: Sequence[Windowed]) -> list[tuple[str, str]]:
    """Pairs of timepoint keys on the same anchor whose windows overlap (or touch on the same day)."""
    by_anchor: dict[str, list[Windowed]] = {}
    for timepoint in timepoints:
        by_anchor.setdefault(timepoint.anchor, []).append(timepoint)
    pairs = []
    for group in by_anchor.values():
        ordered = sorted(group, key=lambda timepoint: timepoint.offset_days)
        for earlier, later in itertools.combinations(ordered, 2):  # a wide window can reach past a neighbour
            if (
                earlier.offset_days + earlier.window_after_days
                >= later.offset_days - later.window_before_days
            ):
                pairs.append((earlier.key, later.key))
    return pairs


def window_problems(timepoints: Sequence[Windowed]) -> list[str]:
    """Timepoints on the same anchor whose windows overlap, or whose keys repeat."""
    problems = []
    keys = [timepoint.key for timepoint in timepoints]
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        problems.append(f"timepoint key {key!r} is used twice")
    for earlier, later in overlapping_windows(timepoints):
        problems.append(f"the windows of timepoints {earlier} and {later} overlap")
    return problems
