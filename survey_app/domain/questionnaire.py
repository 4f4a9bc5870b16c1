"""The questionnaire as frozen domain objects: what a client is asked and how it is scored.

These objects are built by the loader (survey_app.questionnaires.loader) from a published YAML file and never
change afterwards. They know nothing about the web or the database.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from survey_app.domain.logic import Expression

REQUIRED_LANGUAGES: tuple[str, ...] = ("en", "nl", "fr")

Text = Mapping[str, str]
"""A text in several languages: language code -> text."""


def localise(text: Text | None, language: str, fallback: str = "en") -> str:
    """Return the text in `language`, else in `fallback`, else an empty string."""
    if not text:
        return ""
    return text.get(language) or text.get(fallback) or ""


class Domain(enum.StrEnum):
    """The life domain a questionnaire (or scale) measures."""

    HEALTH = "health"
    SELF_ESTEEM = "self_esteem"
    IDENTITY = "identity"
    RELATIONSHIPS = "relationships"
    STIGMA = "stigma"
    RECOVERY_CAPITAL = "recovery_capital"
    SUBSTANCE_USE = "substance_use"
    FUNCTIONING = "functioning"

    @property
    def life_domain(self) -> str:
        """The recovery life domain: personal, social, community, or the domain itself."""
        return _LIFE_DOMAINS.get(self, self.value)


_LIFE_DOMAINS = {
    Domain.HEALTH: "personal",
    Domain.SELF_ESTEEM: "personal",
    Domain.IDENTITY: "personal",
    Domain.RELATIONSHIPS: "social",
    Domain.STIGMA: "community",
}


class ItemType(enum.StrEnum):
    """The kinds of question a form can ask."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    INTEGER = "integer"
    SLIDER = "slider"
    DATE = "date"
    TEXT = "text"

    @property
    def is_choice(self) -> bool:
        """True for types whose answer is one option code."""
        return self in (ItemType.SINGLE_CHOICE, ItemType.YES_NO)

    @property
    def is_number(self) -> bool:
        """True for types whose answer is an integer in a range."""
        return self in (ItemType.INTEGER, ItemType.SLIDER)


@dataclass(frozen=True, slots=True)
class Option:
    """One answer option: the stored code and its label."""

    code: int
    label: Text
    missing: bool = False


@dataclass(frozen=True)
class Item:
    """One question, as published."""

    id: str
    type: ItemType
    text: Text
    section_id: str
    number: int | None = None
    help: Text | None = None
    read_aloud: Text | None = None
    required: bool = False
    options: tuple[Option, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    step: int = 1
    unit: Text | None = None
    min_label: Text | None = None
    max_label: Text | None = None
    max_choices: int | None = None
    max_length: int = 500
    min_date: str | None = None
    max_date: str | None = None
    show_if: Expression | None = None
    show_if_source: str | None = None

    @cached_property
    def codes(self) -> frozenset[int]:
        """Every code an answer may carry, including declared missing codes."""
        return frozenset(option.code for option in self.options)

    @cached_property
    def missing_codes(self) -> frozenset[int]:
        """Codes that are stored but count as missing ("I'd rather not say")."""
        return frozenset(option.code for option in self.options if option.missing)

    @cached_property
    def scored_bounds(self) -> tuple[int, int] | None:
        """The lowest and highest scoreable value, used for reverse keying."""
        if self.type.is_number:
            assert self.minimum is not None and self.maximum is not None
            return self.minimum, self.maximum
        scored = [option.code for option in self.options if not option.missing]
        if not scored:
            return None
        return min(scored), max(scored)

    def option(self, code: int) -> Option | None:
        """The option with this code, if any."""
        for option in self.options:
            if option.code == code:
                return option
        return None


@dataclass(frozen=True)
class Section:
    """A group of items shown together or one by one."""

    id: str
    items: tuple[Item, ...]
    title: Text | None = None
    intro: Text | None = None
    display: str = "each"
    show_if: Expression | None = None
    show_if_source: str | None = None


class Method(enum.StrEnum):
    """How a scale's value is computed."""

    SUM = "sum"
    MEAN = "mean"
    TRANSFORM = "transform"
    LOOKUP = "lookup"


class Direction(enum.StrEnum):
    """Which way is better on a scale."""

    HIGHER_IS_BETTER = "higher_is_better"
    HIGHER_IS_WORSE = "higher_is_worse"


@dataclass(frozen=True, slots=True)
class Band:
    """An inclusive range of scale values with a label."""

    id: str
    minimum: Decimal
    maximum: Decimal
    label: Text


@dataclass(frozen=True, slots=True)
class ReliableChangeParameters:
    """Published spread and reliability for the Reliable Change Index."""

    sd: float
    reliability: float
    source: str


@dataclass(frozen=True, slots=True)
class ClinicalCutoff:
    """A published cut-off between the clinical and the functional range."""

    value: float
    functional: str  # "at_or_above" or "below"
    source: str

    def is_functional(self, value: float) -> bool:
        """True when the value lies in the functional range."""
        return value >= self.value if self.functional == "at_or_above" else value < self.value


@dataclass(frozen=True)
class Scale:
    """A score computed from items or from another scale."""

    id: str
    label: Text
    method: Method
    range: tuple[float, float]
    precision: int
    direction: Direction
    items: tuple[str, ...] = ()
    reverse: frozenset[str] = frozenset()
    recode: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)
    max_missing: int = 0
    missing_rule: str = "project"
    requires: tuple[str, ...] = ()
    of: str | None = None
    multiply: float = 1.0
    add: float = 0.0
    table: Mapping[int, float] = field(default_factory=dict)
    domain: Domain | None = None
    bands: tuple[Band, ...] = ()
    bands_source: str | None = None
    reliable_change: ReliableChangeParameters | None = None
    clinical_cutoff: ClinicalCutoff | None = None

    def band(self, band_id: str | None) -> Band | None:
        """The band with this id, if any."""
        return next((band for band in self.bands if band.id == band_id), None)


@dataclass(frozen=True, slots=True)
class FormMissingRule:
    """A missing-item rule for the whole form (replaces the per-scale rules)."""

    max_missing: int
    rule: str = "author"


@dataclass(frozen=True)
class Flag:
    """A risk item that needs a counsellor's attention when its condition holds."""

    id: str
    when: Expression
    when_source: str
    severity: str
    label: Text


@dataclass(frozen=True)
class Comparability:
    """A declaration that this version's scores can be joined with an earlier version's."""

    version: int
    items: Mapping[str, str] = field(default_factory=dict)
    scales: tuple[str, ...] | None = None
    note: str | None = None


@dataclass(frozen=True)
class ScaleExpectation:
    """What an example expects of one scale."""

    value: float | None
    band: str | None = None
    prorated: bool | None = None
    missing: int | None = None
    checks_band: bool = False


@dataclass(frozen=True)
class Example:
    """Answers and the scores they must give."""

    name: str
    answers: Mapping[str, Any]
    scales: Mapping[str, ScaleExpectation]
    flags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class LanguageInfo:
    """Whether a language's text is a validated translation, and its source."""

    validated: bool
    source: str | None = None


@dataclass(frozen=True)
class Questionnaire:
    """One published version of a questionnaire."""

    key: str
    version: int
    title: Text
    short_title: Text
    domain: Domain
    citation: str
    licence: str
    languages: Mapping[str, LanguageInfo]
    sections: tuple[Section, ...]
    content_hash: str
    instructions: Text | None = None
    notes: str | None = None
    scales: tuple[Scale, ...] = ()
    form_missing: FormMissingRule | None = None
    flags: tuple[Flag, ...] = ()
    comparable_with: tuple[Comparability, ...] = ()
    examples: tuple[Example, ...] = ()

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """Every item in published order."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def items_by_id(self) -> Mapping[str, Item]:
        """Items keyed by their content id."""
        return {item.id: item for item in self.items}

    @cached_property
    def scales_by_id(self) -> Mapping[str, Scale]:
        """Scales keyed by id."""
        return {scale.id: scale for scale in self.scales}

    @property
    def label(self) -> str:
        """A short human label such as `who5 v1`."""
        return f"{self.key} v{self.version}"

    def item(self, item_id: str) -> Item:
        """The item with this id (KeyError if unknown)."""
        return self.items_by_id[item_id]

    def scale(self, scale_id: str) -> Scale:
        """The scale with this id (KeyError if unknown)."""
        return self.scales_by_id[scale_id]

    def comparability_with(self, version: int) -> Comparability | None:
        """The declaration that joins this version with an earlier one, if made."""
        return next((c for c in self.comparable_with if c.version == version), None)

    def offered_languages(self) -> tuple[str, ...]:
        """Languages in which every text of the form exists."""
        return tuple(self.languages)
