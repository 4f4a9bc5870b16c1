"""The codebook of an export, from the stored questionnaire versions: variables, questionnaires, provenance.

The same dictionary is written as JSON (machine-readable) and rendered as HTML. It names every variable (with
its SPSS and Stata names when those had to be shortened), its label, type, values and value labels, the
questionnaire version it comes from, the scoring rule of every scale, the translation status of every
language, how versions were joined, and the provenance of the file: app version, time, filters, row counts,
checksums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from survey_app.domain.questionnaire import Item, Questionnaire, Scale, localise
from survey_app.exports.csv_out import RISKY_FIRST_CHARACTERS
from survey_app.exports.names import spss_names, stata_names
from survey_app.exports.spss_stata import sav_missing, stata_missing_tags
from survey_app.exports.table import NOT_ASKED, NOT_ASKED_LABEL, Variable

CODEBOOK_FORMAT = 1
CSV_RULE = (
    "Text cells that start with = + - @ or a control character (TAB, CR, LF, ...) could run as spreadsheet "
    "formulas; they were written with a leading apostrophe (for example '=1+1). Numbers were never changed."
)
MISSING_RULE = (
    f"An empty cell is missing: not answered, not in the session, or not scored. {NOT_ASKED} "
    f"('{NOT_ASKED_LABEL}') marks an item the questionnaire's skip rules did not ask, given the session's "
    "answers (in the long layout, a row of its own; an item asked but not answered has no row), and a "
    "scale all of whose items they hid (a scale asked but not scored stays empty): a "
    "user-missing value in SPSS, the extended missing value .a in Stata's numeric columns, listed in "
    "missing_codes in Parquet, the number itself in CSV, and in a text column the same digits as text. A "
    "calendar-date column stays empty; its days-since-intake column has the code. FHIR responses leave such "
    "items out. 'Rather not say' codes are marked missing in each item's values; in Stata they are the "
    "extended missing values .b, .c, ... in ascending order of code, labelled (each variable's "
    "stata_missing lists them); in SPSS user-missing values, declared as a range beside 99999 where an "
    "item has more than three codes (each variable's spss_missing says how, and lists any code SPSS could "
    "not declare)."
)
DATE_RULE = (
    "Variables of type date are calendar dates: SPSS DATE11, Stata %td, Parquet date32, CSV YYYY-MM-DD. They "
    "are exported only where an admin allowed calendar dates (or identifiers, for the date of birth); "
    "otherwise dates are days since the client's intake."
)
SITE_RULE = (
    "site (site_<timepoint> in the wide layout) is the site where the session was taken: the client's site "
    "when it started, kept when the client moves to another site later. The site filter selects sessions by "
    "that site. In the wide layout, site is the client's site at intake: where their first session was taken."
)
PSEUDONYM_RULE = (
    "pseudonym = first 32 hexadecimal digits of HMAC-SHA256(project secret, client id). The project secret "
    "is kept outside the data and the database; pseudonyms are stable within this project and unrelated "
    "to those of any other project."
)


def describe_scale(scale: Scale) -> str:
    """The scoring rule of a scale in plain words."""
    if scale.method.value in ("sum", "mean"):
        parts = [f"{scale.method.value} of {len(scale.items)} items ({', '.join(scale.items)})"]
        if scale.reverse:
            parts.append(f"reverse-keyed: {', '.join(sorted(scale.reverse))}")
        if scale.recode:
            parts.append(f"recoded: {', '.join(sorted(scale.recode))}")
        if scale.weights:
            parts.append("weights: " + ", ".join(f"{k}={v:g}" for k, v in sorted(scale.weights.items())))
        if scale.max_missing:
            parts.append(
                f"up to {scale.max_missing} missing item(s) imputed with the person's mean "
                f"({scale.missing_rule} rule)"
            )
        else:
            parts.append("every item required")
    elif scale.method.value == "transform":
        parts = [f"{scale.of} x {scale.multiply:g} + {scale.add:g}"]
    else:
        parts = [f"table look-up on {scale.of}"]
    if scale.requires:
        parts.append(f"scored only when {', '.join(scale.requires)} are scored")
    low, high = scale.range
    parts.append(f"range {low:g} to {high:g}, {scale.direction.value.replace('_', ' ')}")
    return "; ".join(parts)


def _values(item: Item, language: str) -> list[dict[str, Any]]:
    return [
        {"value": option.code, "label": localise(option.label, language), "missing": option.missing}
        for option in item.options
    ]


def _item(item: Item, language: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": item.id,
        "number": item.number,
        "type": item.type.value,
        "text": dict(item.text),
        "label": localise(item.text, language),
        "values": _values(item, language),
    }
    if item.type.is_number:
        entry["range"] = [item.minimum, item.maximum]
        entry["unit"] = localise(item.unit, language) or None
    if item.show_if_source:
        entry["shown_if"] = item.show_if_source
    return entry


def _scale(scale: Scale, language: str) -> dict[str, Any]:
    return {
        "id": scale.id,
        "label": localise(scale.label, language),
        "method": scale.method.value,
        "rule": describe_scale(scale),
        "range": list(scale.range),
        "precision": scale.precision,
        "direction": scale.direction.value,
        "bands": [
            {
                "id": b.id,
                "min": float(b.minimum),
                "max": float(b.maximum),
                "label": localise(b.label, language),
            }
            for b in scale.bands
        ],
        "bands_source": scale.bands_source,
    }


def questionnaire_entry(questionnaire: Questionnaire, language: str) -> dict[str, Any]:
    """What the codebook says about one stored questionnaire version."""
    return {
        "key": questionnaire.key,
        "version": questionnaire.version,
        "title": localise(questionnaire.title, language),
        "citation": questionnaire.citation,
        "licence": questionnaire.licence,
        "notes": questionnaire.notes,
        "content_hash": questionnaire.content_hash,
        "translations": {
            code: {"validated": info.validated, "source": info.source}
            for code, info in questionnaire.languages.items()
        },
        "form_missing_rule": (
            {"max_missing": questionnaire.form_missing.max_missing, "rule": questionnaire.form_missing.rule}
            if questionnaire.form_missing
            else None
        ),
        "items": [_item(item, language) for item in questionnaire.items],
        "scales": [_scale(scale, language) for scale in questionnaire.scales],
        "comparable_with": [
            {
                "version": c.version,
                "scales": list(c.scales) if c.scales else "all",
                "items": dict(c.items),
                "note": c.note,
            }
            for c in questionnaire.comparable_with
        ],
    }


def _missing_entries(variable: Variable) -> dict[str, Any]:
    """How the variable's missing codes are declared in SPSS (values, a range, what could not be declared)
    and in Stata (extended missing value -> code)."""
    entries: dict[str, Any] = {}
    declared = sav_missing(variable)
    if declared.values or declared.range:
        spss: dict[str, Any] = {"range": list(declared.range)} if declared.range else {}
        spss["values"] = list(declared.values)
        if declared.not_declared:
            spss["not_declared"] = list(declared.not_declared)
            spss["note"] = (
                f"SPSS declares at most three missing values, or one range and one value, and a valid "
                f"value lies between these codes: {', '.join(map(str, declared.not_declared))} "
                "not declared missing in the SPSS file; treat them as missing yourself."
            )
        entries["spss_missing"] = spss
    tags = stata_missing_tags(variable)
    if tags:
        entries["stata_missing"] = {f".{tag}": code for code, tag in sorted(tags.items(), key=_by_tag)}
    return entries


def _by_tag(entry: tuple[int, str]) -> str:
    return entry[1]


def variable_entries(variables: Sequence[Variable]) -> list[dict[str, Any]]:
    """Every column: name, its SPSS and Stata names, label, type, values, how its missing codes are declared
    and what it comes from."""
    spss, stata = spss_names(variables), stata_names(variables)
    return [
        {
            "name": v.name,
            "spss_name": spss[v.name],
            "stata_name": stata[v.name],
            "label": v.label,
            "type": v.kind,
            "whole_numbers": v.integer,
            "width": v.width or None,
            "values": [{"value": code, "label": label} for code, label in v.value_labels.items()],
            **_missing_entries(v),
            **{key: value for key, value in v.details.items()},
        }
        for v in variables
    ]


def build_codebook(
    *,
    variables: Sequence[Variable],
    questionnaires: Mapping[int, Questionnaire],
    language: str,
    provenance: Mapping[str, Any],
    notes: Sequence[str],
) -> dict[str, Any]:
    """The codebook as a JSON-ready dictionary."""
    ordered = sorted(questionnaires.values(), key=lambda q: (q.key, q.version))
    return {
        "codebook_format": CODEBOOK_FORMAT,
        "provenance": dict(provenance),
        "rules": {
            "pseudonym": PSEUDONYM_RULE,
            "csv_cells": CSV_RULE,
            "csv_risky_first_characters": sorted(repr(c)[1:-1] for c in RISKY_FIRST_CHARACTERS),
            "missing": MISSING_RULE,
            "dates": DATE_RULE,
            "sites": SITE_RULE,
        },
        "notes": list(notes),
        "variables": variable_entries(variables),
        "questionnaires": [questionnaire_entry(q, language) for q in ordered],
    }
