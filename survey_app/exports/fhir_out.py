"""FHIR R4: Questionnaire resources from stored versions, and a Bundle of QuestionnaireResponses, streamed.

The Bundle is written one QuestionnaireResponse at a time from the rows of the long layout (sorted by session,
questionnaire and item), so memory holds one response at most. Subjects are the project's pseudonyms (an
identifier, never a reference to a Patient). Dates: `authored` only where the project may export calendar
dates; otherwise the days since intake travel in an extension, as do the timepoint and the site.

Every answer is of the type its Questionnaire item declares. A value that is not given (a "rather not say" to
a number, a date that may not leave) is the primitive without its value, with an extension that says why
(`data-absent-reason`) or what may be said instead (the days since intake). An item the skip rules did not
ask (NOT_ASKED in the long layout) is not in the response.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from survey_app.domain.questionnaire import Item, ItemType, Questionnaire, localise
from survey_app.exports.table import NOT_ASKED, Row, Variable, WriteResult

DEFAULT_BASE = "https://recovery-outcomes.example/fhir"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
COMPLETION_MODE = "http://hl7.org/fhir/StructureDefinition/questionnaireresponse-completionMode"
COMPLETION_MODES = "http://terminology.hl7.org/CodeSystem/qrcompletionmode"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
_MODE_CODES = {"tablet": "electronic", "own_device": "electronic", "interview": "verbal", "paper": "written"}
_ITEM_TYPES = {
    ItemType.SINGLE_CHOICE: "choice",
    ItemType.YES_NO: "choice",
    ItemType.MULTIPLE_CHOICE: "choice",
    ItemType.INTEGER: "integer",
    ItemType.SLIDER: "integer",
    ItemType.DATE: "date",
    ItemType.TEXT: "text",
}
_ROW_FIELDS = (
    "pseudonym",
    "site",
    "timepoint",
    "session",
    "days_since_intake",
    "questionnaire",
    "version",
    "item",
    "value",
    "value_text",
    "declined",
    "language",
    "mode",
)


@dataclass(frozen=True)
class FhirSettings:
    """Where canonical URLs live, the project the pseudonyms belong to, and the language of texts."""

    base: str
    project_id: int
    language: str = "en"

    def canonical(self, key: str) -> str:
        """The canonical URL of a questionnaire (its version goes in `version` and after `|`)."""
        return f"{self.base}/Questionnaire/{key}"

    def extension(self, name: str) -> str:
        """The URL of one of this app's extensions."""
        return f"{self.base}/StructureDefinition/{name}"


def _fhir_id(text: str) -> str:
    return text.replace("_", "-")


def _translated(text: Mapping[str, str], language: str) -> dict[str, Any]:
    others = [
        {
            "extension": [{"url": "lang", "valueCode": code}, {"url": "content", "valueString": value}],
            "url": TRANSLATION,
        }
        for code, value in sorted(text.items())
        if code != language and value
    ]
    return {"extension": others} if others else {}


def _item_resource(item: Item, settings: FhirSettings) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "linkId": item.id,
        "text": localise(item.text, settings.language),
        "type": _ITEM_TYPES[item.type],
        "required": item.required,
    }
    translations = _translated(item.text, settings.language)
    if translations:
        resource["_text"] = translations
    if item.type is ItemType.MULTIPLE_CHOICE:
        resource["repeats"] = True
    if item.type.is_choice or item.type is ItemType.MULTIPLE_CHOICE:
        resource["answerOption"] = [
            {"valueCoding": {"code": str(option.code), "display": localise(option.label, settings.language)}}
            for option in item.options
        ]
    if item.type is ItemType.TEXT:
        resource["maxLength"] = item.max_length
    return resource


def questionnaire_resource(questionnaire: Questionnaire, settings: FhirSettings) -> dict[str, Any]:
    """A FHIR R4 Questionnaire for one stored version: sections as groups, items with their answer options."""
    groups = []
    for section in questionnaire.sections:
        group: dict[str, Any] = {"linkId": section.id, "type": "group"}
        if section.title:
            group["text"] = localise(section.title, settings.language)
        group["item"] = [_item_resource(item, settings) for item in section.items]
        groups.append(group)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": _fhir_id(f"{questionnaire.key}-v{questionnaire.version}"),
        "language": settings.language,
        "url": settings.canonical(questionnaire.key),
        "version": str(questionnaire.version),
        "title": localise(questionnaire.title, settings.language),
        "status": "active",
        "subjectType": ["Patient"],
        "description": questionnaire.citation,
        "copyright": questionnaire.licence,
        "item": groups,
    }
    translations = _translated(questionnaire.title, settings.language)
    if translations:
        resource["_title"] = translations
    return resource


def _answers(item: Item | None, row: Mapping[str, Any], settings: FhirSettings) -> list[dict[str, Any]]:
    value, value_text, declined = row["value"], row["value_text"], row["declined"]
    if item is None or value == NOT_ASKED:  # unknown, or not asked by the skip rules: no answer
        return []
    if item.type.is_choice or item.type is ItemType.MULTIPLE_CHOICE:
        codes = [int(code) for code in str(value_text).split(";")] if value_text else [int(value)]
        return [_coding_answer(item, code, settings) for code in codes]
    if declined:  # an integer the client chose not to give: the value is absent, and the reason is said
        return [{"_valueInteger": {"extension": [{"url": DATA_ABSENT, "valueCode": "asked-declined"}]}}]
    if item.type.is_number:
        return [{"valueInteger": int(value)}]
    if item.type is ItemType.DATE:
        if row.get("value_date"):
            return [{"valueDate": row["value_date"].isoformat()}]
        days = {"url": settings.extension("days-since-intake"), "valueInteger": int(value)}
        return [{"_valueDate": {"extension": [days]}}]  # the date is withheld, its distance from intake not
    return [{"valueString": str(value_text)}] if value_text else []


def _coding_answer(item: Item, code: int, settings: FhirSettings) -> dict[str, Any]:
    option = item.option(code)
    coding: dict[str, Any] = {"code": str(code)}
    if option is not None:
        coding["display"] = localise(option.label, settings.language)
    return {"valueCoding": coding}


def _response(
    rows: list[dict[str, Any]], questionnaire: Questionnaire, settings: FhirSettings
) -> dict[str, Any] | None:
    """The QuestionnaireResponse of one session's rows for one questionnaire; None when nothing was answered
    (every row an item not asked)."""
    first = rows[0]
    sections: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        item = questionnaire.items_by_id.get(row["item"])
        answers = _answers(item, row, settings)
        if item is None or not answers:
            continue
        sections.setdefault(item.section_id, []).append({"linkId": item.id, "answer": answers})
    if not sections:
        return None
    identity = f"{first['pseudonym']}/{first['session']}/{questionnaire.key}/{questionnaire.version}"
    extensions: list[dict[str, Any]] = [
        {"url": settings.extension("days-since-intake"), "valueInteger": first["days_since_intake"]},
        {"url": settings.extension("site"), "valueString": first["site"]},
        {"url": settings.extension("session-language"), "valueCode": first["language"]},
    ]
    if first["timepoint"]:
        extensions.append({"url": settings.extension("timepoint"), "valueCode": first["timepoint"]})
    mode = _MODE_CODES.get(first["mode"])
    if mode:
        extensions.append(
            {
                "url": COMPLETION_MODE,
                "valueCodeableConcept": {"coding": [{"system": COMPLETION_MODES, "code": mode}]},
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.base}/{settings.project_id}/{identity}")),
        "language": settings.language,  # of the displays; the client's own is in session-language
        "extension": extensions,
        "questionnaire": f"{settings.canonical(questionnaire.key)}|{questionnaire.version}",
        "status": "completed",
        "subject": {
            "identifier": {
                "system": f"{settings.base}/project/{settings.project_id}/pseudonym",
                "value": first["pseudonym"],
            }
        },
        "item": [{"linkId": section, "item": items} for section, items in sections.items()],
    }
    if first.get("submitted_on"):
        resource["authored"] = first["submitted_on"].isoformat()
    return resource


def _grouped(variables: Sequence[Variable], rows: Iterable[Row]) -> Iterator[list[dict[str, Any]]]:
    names = [variable.name for variable in variables]
    wanted = [name for name in (*_ROW_FIELDS, "submitted_on", "value_date") if name in names]
    missing = set(_ROW_FIELDS) - set(wanted)
    if missing:
        raise ValueError(f"FHIR needs the long layout; missing columns: {', '.join(sorted(missing))}")
    positions = {name: names.index(name) for name in wanted}
    mapped = ({name: row[index] for name, index in positions.items()} for row in rows)
    for _, group in itertools.groupby(
        mapped, key=lambda r: (r["pseudonym"], r["session"], r["questionnaire"], r["version"])
    ):
        yield list(group)


def write_fhir_bundle(
    variables: Sequence[Variable],
    rows: Iterable[Row],
    stream: TextIO,
    *,
    questionnaires: Mapping[tuple[str, int], Questionnaire],
    settings: FhirSettings,
    timestamp: str,
) -> WriteResult:
    """Write a Bundle (type collection) of QuestionnaireResponses; `rows` are long-layout rows."""
    result = WriteResult()
    stream.write(json.dumps({"resourceType": "Bundle", "type": "collection", "timestamp": timestamp})[:-1])
    stream.write(', "entry": [')
    separator = ""
    for group in _grouped(variables, _counting(rows, result)):
        questionnaire = questionnaires[(group[0]["questionnaire"], int(group[0]["version"]))]
        resource = _response(group, questionnaire, settings)
        if resource is None:
            continue
        entry = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
        stream.write(separator + json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
        separator = ",\n"
    stream.write("]}\n")
    return result


def _counting(rows: Iterable[Row], result: WriteResult) -> Iterator[Row]:
    for row in rows:
        result.rows += 1
        yield row


def write_fhir_questionnaires(
    questionnaires: Iterable[Questionnaire], stream: TextIO, *, settings: FhirSettings, timestamp: str
) -> int:
    """Write a Bundle (type collection) of the Questionnaire resources; returns how many."""
    entries = [
        {
            "fullUrl": f"{settings.base}/Questionnaire/{_fhir_id(f'{q.key}-v{q.version}')}",
            "resource": questionnaire_resource(q, settings),
        }
        for q in questionnaires
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp, "entry": entries}
    json.dump(bundle, stream, ensure_ascii=False, indent=1)
    stream.write("\n")
    return len(entries)
