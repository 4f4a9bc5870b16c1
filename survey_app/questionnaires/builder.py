"""Build frozen domain objects from schema-valid questionnaire data; check what a schema cannot express."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from survey_app.domain.answers import validate_answer
from survey_app.domain.logic import ExpressionError, ItemSignature, check, parse, referenced_items
from survey_app.domain.questionnaire import (
    Band,
    ClinicalCutoff,
    Comparability,
    Direction,
    Domain,
    Example,
    Flag,
    FormMissingRule,
    Item,
    ItemType,
    LanguageInfo,
    Method,
    Option,
    Questionnaire,
    ReliableChangeParameters,
    Scale,
    ScaleExpectation,
    Section,
    Text,
)
from survey_app.domain.scoring import scale_order
from survey_app.questionnaires.problems import ProblemCollector
from survey_app.questionnaires.scale_checks import (
    MAX_TABLE_KEYS,
    check_bands,
    check_range,
    check_table,
)
from survey_app.questionnaires.yaml_source import JsonPath

SCOREABLE_TYPES = (ItemType.SINGLE_CHOICE, ItemType.YES_NO, ItemType.INTEGER, ItemType.SLIDER)
MIN_EXAMPLES = 3

YES_NO_OPTIONS = (
    Option(1, {"en": "Yes", "nl": "Ja", "fr": "Oui"}),
    Option(0, {"en": "No", "nl": "Nee", "fr": "Non"}),
)


def build_questionnaire(
    data: dict[str, Any], digest: str, problems: ProblemCollector
) -> Questionnaire | None:
    """Build the questionnaire, recording every problem; returns None when any was found."""
    builder = _Builder(data, problems)
    questionnaire = builder.build(digest)
    return None if problems.problems else questionnaire


class _Builder:
    def __init__(self, data: dict[str, Any], problems: ProblemCollector) -> None:
        self.data = data
        self.problems = problems
        self.languages = tuple(data["languages"])
        self.option_sets: dict[str, tuple[Option, ...]] = {}
        self.items: dict[str, Item] = {}
        self.item_paths: dict[str, JsonPath] = {}
        self.position: dict[str, int] = {}

    # --- texts and options ----------------------------------------------------------------------------------

    def text(self, path: JsonPath, value: dict[str, str] | None) -> Text | None:
        if value is None:
            return None
        for language in self.languages:
            if language not in value:
                self.problems.add(
                    path, f"text has no '{language}' version (every text needs each of the languages)"
                )
        for language in value:
            if language not in self.languages:
                self.problems.add(path, f"language '{language}' is not declared under languages")
        return dict(value)

    def options(self, path: JsonPath, raw: list[dict[str, Any]]) -> tuple[Option, ...]:
        seen: set[int] = set()
        options = []
        for index, entry in enumerate(raw):
            if entry["code"] in seen:
                self.problems.add((*path, index, "code"), f"answer code {entry['code']} is used twice")
            seen.add(entry["code"])
            label = self.text((*path, index, "label"), entry["label"]) or {}
            options.append(Option(entry["code"], label, bool(entry.get("missing", False))))
        return tuple(options)

    # --- the whole file -------------------------------------------------------------------------------------

    def build(self, digest: str) -> Questionnaire | None:
        data = self.data
        for set_id, raw in data.get("response_options", {}).items():
            self.option_sets[set_id] = self.options(("response_options", set_id), raw)
        sections = self.sections()
        scoring = data.get("scoring", {})
        form_missing = None
        if "missing" in scoring:
            form_missing = FormMissingRule(
                scoring["missing"]["max_missing"], scoring["missing"].get("rule", "author")
            )
        scales = self.scales(scoring.get("scales", []), form_missing)
        flags = self.flags(scoring.get("flags", []))
        comparable = self.comparable_with(data.get("comparable_with", []), scales)
        examples = self.examples(data.get("examples", []), scales, bool(scoring))
        if self.problems.problems:
            return None
        questionnaire = Questionnaire(
            key=data["key"],
            version=data["version"],
            title=self.text(("title",), data["title"]) or {},
            short_title=self.text(("short_title",), data["short_title"]) or {},
            instructions=self.text(("instructions",), data.get("instructions")),
            domain=Domain(data["domain"]),
            citation=data["citation"],
            licence=data["licence"],
            notes=data.get("notes"),
            languages={
                code: LanguageInfo(info["validated"], info.get("source"))
                for code, info in data["languages"].items()
            },
            sections=sections,
            content_hash=digest,
            scales=scales,
            form_missing=form_missing,
            flags=flags,
            comparable_with=comparable,
            examples=examples,
        )
        self.check_scale_ranges(questionnaire)
        return questionnaire

    # --- sections and items ---------------------------------------------------------------------------------

    def sections(self) -> tuple[Section, ...]:
        raw_sections = self.data["sections"]
        section_ids: set[str] = set()
        built: list[tuple[dict[str, Any], JsonPath, list[Item]]] = []
        for s_index, raw in enumerate(raw_sections):
            path: JsonPath = ("sections", s_index)
            if raw["id"] in section_ids:
                self.problems.add((*path, "id"), f"section id '{raw['id']}' is used twice")
            section_ids.add(raw["id"])
            items = []
            for i_index, raw_item in enumerate(raw["items"]):
                item = self.item((*path, "items", i_index), raw_item, raw["id"])
                if item is not None:
                    items.append(item)
            built.append((raw, path, items))
        signatures = {item_id: _signature(item) for item_id, item in self.items.items()}
        sections = []
        for raw, path, items in built:
            first = items[0].id if items else None
            section_rule = self.rule((*path, "show_if"), raw.get("show_if"), signatures, before=first)
            with_rules = tuple(
                dataclasses.replace(
                    item,
                    show_if=self.rule(
                        (*self.item_paths[item.id], "show_if"),
                        item.show_if_source,
                        signatures,
                        before=item.id,
                    ),
                )
                if item.show_if_source
                else item
                for item in items
            )
            sections.append(
                Section(
                    id=raw["id"],
                    items=with_rules,
                    title=self.text((*path, "title"), raw.get("title")),
                    intro=self.text((*path, "intro"), raw.get("intro")),
                    display=raw.get("display", "each"),
                    show_if=section_rule,
                    show_if_source=raw.get("show_if"),
                )
            )
        return tuple(sections)

    def item(self, path: JsonPath, raw: dict[str, Any], section_id: str) -> Item | None:
        item_id = raw["id"]
        if item_id in self.items:
            self.problems.add((*path, "id"), f"item id '{item_id}' is used twice")
            return None
        item_type = ItemType(raw["type"])
        options = self.item_options(path, raw, item_type)
        minimum, maximum = raw.get("min"), raw.get("max")
        min_date = max_date = None
        if item_type.is_number:
            self.check_number_item(path, raw, options)
            minimum, maximum = int(raw["min"]), int(raw["max"])
        else:
            minimum = maximum = None
        if item_type is ItemType.DATE:
            min_date, max_date = raw.get("min"), raw.get("max")
            if min_date and max_date and dt.date.fromisoformat(min_date) > dt.date.fromisoformat(max_date):
                self.problems.add((*path, "min"), "min date is after max date")
        if raw.get("max_choices") is not None and raw["max_choices"] > len(options):
            self.problems.add(
                (*path, "max_choices"), f"max_choices is larger than the {len(options)} options"
            )
        item = Item(
            id=item_id,
            type=item_type,
            text=self.text((*path, "text"), raw["text"]) or {},
            section_id=section_id,
            number=raw.get("number"),
            help=self.text((*path, "help"), raw.get("help")),
            read_aloud=self.text((*path, "read_aloud"), raw.get("read_aloud")),
            required=bool(raw.get("required", False)),
            options=options,
            minimum=minimum,
            maximum=maximum,
            step=raw.get("step", 1),
            unit=self.text((*path, "unit"), raw.get("unit")),
            min_label=self.text((*path, "min_label"), raw.get("min_label")),
            max_label=self.text((*path, "max_label"), raw.get("max_label")),
            max_choices=raw.get("max_choices"),
            max_length=raw.get("max_length", 500),
            min_date=min_date,
            max_date=max_date,
            show_if_source=raw.get("show_if"),
        )
        self.items[item_id] = item
        self.item_paths[item_id] = path
        self.position[item_id] = len(self.position)
        return item

    def item_options(self, path: JsonPath, raw: dict[str, Any], item_type: ItemType) -> tuple[Option, ...]:
        spec = raw.get("options")
        if spec is None:
            return YES_NO_OPTIONS if item_type is ItemType.YES_NO else ()
        if isinstance(spec, str):
            if spec not in self.option_sets:
                self.problems.add((*path, "options"), f"no response_options set named '{spec}'")
                return ()
            options = self.option_sets[spec]
        else:
            options = self.options((*path, "options"), spec)
        if item_type in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE, ItemType.YES_NO) and all(
            option.missing for option in options
        ):
            self.problems.add(
                (*path, "options"), "a choice item needs at least one option that is not 'missing'"
            )
        return options

    def check_number_item(self, path: JsonPath, raw: dict[str, Any], options: tuple[Option, ...]) -> None:
        minimum, maximum = raw["min"], raw["max"]
        if minimum >= maximum:
            self.problems.add((*path, "max"), f"max ({maximum}) must be larger than min ({minimum})")
        step = raw.get("step", 1)
        if (maximum - minimum) % step:
            self.problems.add((*path, "step"), f"step {step} does not divide the range {minimum}-{maximum}")
        for option in options:
            if not option.missing:
                self.problems.add((*path, "options"), "options of a number item must be marked missing: true")
            elif minimum <= option.code <= maximum:
                self.problems.add(
                    (*path, "options"),
                    f"missing code {option.code} lies inside the range {minimum}-{maximum}",
                )

    def rule(
        self, path: JsonPath, source: str | None, signatures: dict[str, ItemSignature], *, before: str | None
    ) -> Any:
        """Parse and check a skip rule or flag condition; `before` names the item the rule must precede."""
        if source is None:
            return None
        try:
            expression = parse(source)
        except ExpressionError as error:
            self.problems.add(path, f"rule {source!r}: {error}")
            return None
        for message in check(expression, signatures):
            self.problems.add(path, f"rule {source!r}: {message}")
        if before is not None:
            limit = self.position.get(before, -1)
            for name in sorted(referenced_items(expression)):
                if name in self.position and self.position[name] >= limit:
                    self.problems.add(
                        path,
                        f"rule {source!r} uses '{name}', which is not asked before; "
                        "rules may only use earlier answers",
                    )
        return expression

    # --- scoring --------------------------------------------------------------------------------------------

    def scales(
        self, raw_scales: list[dict[str, Any]], form_missing: FormMissingRule | None
    ) -> tuple[Scale, ...]:
        ids = [raw["id"] for raw in raw_scales]
        scales = []
        for index, raw in enumerate(raw_scales):
            path: JsonPath = ("scoring", "scales", index)
            if ids.count(raw["id"]) > 1 and ids.index(raw["id"]) != index:
                self.problems.add((*path, "id"), f"scale id '{raw['id']}' is used twice")
            scale = self.scale(path, raw, ids, form_missing)
            if scale is not None:
                scales.append(scale)
        return tuple(scales)

    def scale(
        self, path: JsonPath, raw: dict[str, Any], scale_ids: list[str], form_missing: FormMissingRule | None
    ) -> Scale | None:
        method = Method(raw["method"])
        items = tuple(raw.get("items", ()))
        for item_id in items:
            item = self.items.get(item_id)
            if item is None:
                self.problems.add(
                    (*path, "items"), f"scale names item '{item_id}', which the form does not have"
                )
            elif item.type not in SCOREABLE_TYPES:
                self.problems.add((*path, "items"), f"item '{item_id}' ({item.type.value}) cannot be scored")
        for key in ("reverse",):
            for item_id in raw.get(key, ()):
                if item_id not in items:
                    self.problems.add(
                        (*path, key), f"'{item_id}' is reversed but is not one of the scale's items"
                    )
        recode = self.recode(path, raw.get("recode", {}), items, set(raw.get("reverse", ())))
        for item_id, weight in raw.get("weights", {}).items():
            if item_id not in items:
                self.problems.add(
                    (*path, "weights"), f"'{item_id}' has a weight but is not one of the scale's items"
                )
            elif method is Method.MEAN and weight <= 0:
                self.problems.add(
                    (*path, "weights", item_id),
                    f"'{item_id}' has weight {weight}: the weights of a mean must be larger than 0",
                )
        max_missing, missing_rule = self.missing_rule(path, raw, len(items), form_missing)
        for reference in [raw.get("of"), *raw.get("requires", ())]:
            if reference is not None and (reference not in scale_ids or reference == raw["id"]):
                self.problems.add(
                    path, f"scale '{raw['id']}' refers to scale '{reference}', which does not exist"
                )
        low, high = raw["range"]
        if low >= high:
            self.problems.add((*path, "range"), "range must go from a lower to a higher value")
        bands = tuple(
            Band(
                b["id"],
                Decimal(repr(b["min"])),
                Decimal(repr(b["max"])),
                self.text((*path, "bands", i, "label"), b["label"]) or {},
            )
            for i, b in enumerate(raw.get("bands", ()))
        )
        for message in check_bands(bands, (low, high), raw["precision"]):
            self.problems.add((*path, "bands"), message)
        cutoff = raw.get("clinical_cutoff")
        if cutoff is not None and not low <= cutoff["value"] <= high:
            self.problems.add((*path, "clinical_cutoff"), f"cut-off {cutoff['value']} lies outside the range")
        rc = raw.get("reliable_change")
        return Scale(
            id=raw["id"],
            label=self.text((*path, "label"), raw["label"]) or {},
            method=method,
            range=(float(low), float(high)),
            precision=raw["precision"],
            direction=Direction(raw["direction"]),
            items=items,
            reverse=frozenset(raw.get("reverse", ())),
            recode=recode,
            weights={key: float(value) for key, value in raw.get("weights", {}).items()},
            max_missing=max_missing,
            missing_rule=missing_rule,
            requires=tuple(raw.get("requires", ())),
            of=raw.get("of"),
            multiply=float(raw.get("multiply", 1.0)),
            add=float(raw.get("add", 0.0)),
            table={int(key): float(value) for key, value in raw.get("table", {}).items()},
            domain=Domain(raw["domain"]) if "domain" in raw else None,
            bands=bands,
            bands_source=raw.get("bands_source"),
            reliable_change=ReliableChangeParameters(rc["sd"], rc["reliability"], rc["source"])
            if rc
            else None,
            clinical_cutoff=ClinicalCutoff(cutoff["value"], cutoff["functional"], cutoff["source"])
            if cutoff
            else None,
        )

    def recode(
        self, path: JsonPath, raw: dict[str, dict[str, int]], items: tuple[str, ...], reversed_items: set[str]
    ) -> dict[str, dict[int, int]]:
        recode: dict[str, dict[int, int]] = {}
        for item_id, mapping in raw.items():
            item = self.items.get(item_id)
            if item_id not in items or item is None:
                self.problems.add(
                    (*path, "recode", item_id), f"'{item_id}' is recoded but is not one of the scale's items"
                )
                continue
            if item_id in reversed_items:
                self.problems.add(
                    (*path, "recode", item_id), f"'{item_id}' is both recoded and reversed; recode it only"
                )
            table = {int(code): value for code, value in mapping.items()}
            scored: Collection[int] = {option.code for option in item.options if not option.missing}
            if item.type.is_number and item.minimum is not None and item.maximum is not None:
                scored = range(item.minimum, item.maximum + 1, item.step)
            if len(table) != len(scored) or any(code not in scored for code in table):
                shown = (
                    str(sorted(scored))
                    if len(scored) <= MAX_TABLE_KEYS
                    else f"every whole number from {item.minimum} to {item.maximum}"
                    + (f" in steps of {item.step}" if item.step > 1 else "")
                )
                self.problems.add(
                    (*path, "recode", item_id),
                    f"recode must list exactly the answer codes of '{item_id}': {shown}",
                )
            recode[item_id] = table
        return recode

    def missing_rule(
        self, path: JsonPath, raw: dict[str, Any], item_count: int, form_missing: FormMissingRule | None
    ) -> tuple[int, str]:
        if form_missing is not None:  # the form-wide rule is the one that applies to every scale
            if "missing" in raw:
                self.problems.add(
                    (*path, "missing"), "the form-wide missing rule replaces per-scale rules; remove this one"
                )
            return form_missing.max_missing, form_missing.rule
        if "missing" not in raw:
            return math.floor(0.2 * item_count), "project"
        max_missing = raw["missing"]["max_missing"]
        if item_count and max_missing >= item_count:
            self.problems.add(
                (*path, "missing"),
                f"max_missing {max_missing} must leave at least one of the {item_count} items",
            )
        return max_missing, raw["missing"].get("rule", "project")

    def check_scale_ranges(self, questionnaire: Questionnaire) -> None:
        try:
            order = scale_order(questionnaire)
        except ValueError as error:
            self.problems.add(("scoring", "scales"), str(error))
            return
        bounds: dict[str, tuple[float, float]] = {}
        for scale in order:
            path: JsonPath = ("scoring", "scales", list(questionnaire.scales).index(scale))
            if scale.method is Method.LOOKUP:
                assert scale.of is not None
                for problem in check_table(scale.table, bounds[scale.of]):
                    self.problems.add((*path, "table"), problem)
            range_problem, bounds[scale.id] = check_range(questionnaire, scale, bounds)
            if range_problem:
                self.problems.add((*path, "range"), range_problem)

    def flags(self, raw_flags: list[dict[str, Any]]) -> tuple[Flag, ...]:
        signatures = {item_id: _signature(item) for item_id, item in self.items.items()}
        flags = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_flags):
            path: JsonPath = ("scoring", "flags", index)
            if raw["id"] in seen:
                self.problems.add((*path, "id"), f"flag id '{raw['id']}' is used twice")
            seen.add(raw["id"])
            expression = self.rule((*path, "when"), raw["when"], signatures, before=None)
            label = self.text((*path, "label"), raw["label"]) or {}
            if expression is not None:
                flags.append(Flag(raw["id"], expression, raw["when"], raw["severity"], label))
        return tuple(flags)

    # --- versions and examples ------------------------------------------------------------------------------

    def comparable_with(
        self, raw: list[dict[str, Any]], scales: tuple[Scale, ...]
    ) -> tuple[Comparability, ...]:
        declarations = []
        seen: set[int] = set()
        scale_ids = {scale.id for scale in scales}
        for index, entry in enumerate(raw):
            path: JsonPath = ("comparable_with", index)
            if entry["version"] >= self.data["version"] or entry["version"] in seen:
                self.problems.add((*path, "version"), "comparable_with names each earlier version once")
            seen.add(entry["version"])
            for new_id in entry.get("items", {}):
                if new_id not in self.items:
                    self.problems.add((*path, "items"), f"'{new_id}' is not an item of this version")
            for scale_id in entry.get("scales", ()):
                if scale_id not in scale_ids:
                    self.problems.add((*path, "scales"), f"'{scale_id}' is not a scale of this version")
            scales_declared = tuple(entry["scales"]) if "scales" in entry else None
            declarations.append(
                Comparability(
                    entry["version"], dict(entry.get("items", {})), scales_declared, entry.get("note")
                )
            )
        return tuple(declarations)

    def examples(
        self, raw: list[dict[str, Any]], scales: tuple[Scale, ...], scored: bool
    ) -> tuple[Example, ...]:
        if scored and len(raw) < MIN_EXAMPLES:
            self.problems.add(("examples",), f"a scored questionnaire needs at least {MIN_EXAMPLES} examples")
        scale_ids = {scale.id for scale in scales}
        flag_ids = {flag["id"] for flag in self.data.get("scoring", {}).get("flags", [])}
        examples = []
        for index, entry in enumerate(raw):
            path: JsonPath = ("examples", index)
            for item_id, value in entry["answers"].items():
                item = self.items.get(item_id)
                if item is None:
                    self.problems.add((*path, "answers", item_id), f"no item '{item_id}'")
                elif problem := validate_answer(item, value):
                    self.problems.add((*path, "answers", item_id), problem)
            expectations = {}
            for scale_id, expected in entry["expect"]["scales"].items():
                if scale_id not in scale_ids:
                    self.problems.add((*path, "expect", "scales", scale_id), f"no scale '{scale_id}'")
                expectations[scale_id] = ScaleExpectation(
                    value=expected["value"],
                    band=expected.get("band"),
                    prorated=expected.get("prorated"),
                    missing=expected.get("missing"),
                    checks_band="band" in expected,
                )
            for flag_id in entry["expect"].get("flags", ()):
                if flag_id not in flag_ids:
                    self.problems.add((*path, "expect", "flags"), f"no flag '{flag_id}'")
            flags = tuple(entry["expect"]["flags"]) if "flags" in entry["expect"] else None
            examples.append(Example(entry["name"], dict(entry["answers"]), expectations, flags))
        return tuple(examples)


def _signature(item: Item) -> ItemSignature:
    """How the expression checker sees an item."""
    scored_codes = frozenset(option.code for option in item.options if not option.missing)
    if item.type.is_choice:
        return ItemSignature(kind="choice", codes=scored_codes, minimum=None, maximum=None)
    if item.type is ItemType.MULTIPLE_CHOICE:
        return ItemSignature(kind="multi", codes=scored_codes, minimum=None, maximum=None)
    if item.type.is_number:
        return ItemSignature(kind="number", codes=None, minimum=item.minimum, maximum=item.maximum)
    return ItemSignature(
        kind="date" if item.type is ItemType.DATE else "text", codes=None, minimum=None, maximum=None
    )
