"""Load a questionnaire file: safe YAML, JSON Schema, then the rules no schema can express.

Every problem is reported at once, each with the file, the line and the item id. Nothing is returned unless
the whole file is valid.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import example_mismatches
from survey_app.questionnaires.builder import build_questionnaire
from survey_app.questionnaires.problems import Problem, ProblemCollector, QuestionnaireError
from survey_app.questionnaires.yaml_source import (
    JsonPath,
    YamlSourceError,
    decode_source,
    read_capped,
    read_yaml,
)

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(__file__).with_name("questionnaire.schema.json")
FILE_NAME = re.compile(r"^v([1-9][0-9]{0,2})\.yaml$")


def content_hash(raw: bytes) -> str:
    """The sha256 of a file's bytes, with line endings normalised so a checkout on Windows hashes the same."""
    return hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


@cache
def _validator() -> jsonschema.protocols.Validator:
    """The validator of questionnaire files (the test suite checks the schema itself, not every start)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    base_class = jsonschema.validators.validator_for(schema)
    # JSON Schema counts 2.0 as an integer; the app uses integers as list indexes and ids, so it must not.
    whole_numbers_only = base_class.TYPE_CHECKER.redefine("integer", lambda _checker, value: _is_whole(value))
    validator_class = jsonschema.validators.extend(base_class, type_checker=whole_numbers_only)
    return validator_class(schema, format_checker=base_class.FORMAT_CHECKER)  # type: ignore[no-any-return]


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def expected_identity(path: Path) -> tuple[str | None, int | None]:
    """The key and version a file's location promises: `<key>/v<N>.yaml`."""
    match = FILE_NAME.match(path.name)
    return path.parent.name, int(match.group(1)) if match else None


def display_name(path: Path) -> str:
    """How a file is named in messages: `questionnaires/<key>/v<N>.yaml` where it lives in such a folder."""
    parts = path.parts
    return "/".join(parts[-3:]) if len(parts) >= 3 else str(path)


def _read_file(path: Path, source: str) -> tuple[bytes, str | None, int]:
    """A file's bytes and the key and version its location promises (QuestionnaireError when unusable)."""
    try:
        raw = read_capped(path)
    except OSError as error:
        raise QuestionnaireError(
            [Problem(source, None, None, f"cannot read file: {error.strerror}")]
        ) from None
    key, version = expected_identity(path)
    if version is None:
        raise QuestionnaireError(
            [Problem(source, None, None, "a questionnaire file is named v<N>.yaml, for example v1.yaml")]
        )
    return raw, key, version


def load_questionnaire_file(path: Path, *, source: str | None = None) -> Questionnaire:
    """Load and check one published or draft file (raises QuestionnaireError listing every problem)."""
    source = source or display_name(path)
    raw, key, version = _read_file(path, source)
    return load_questionnaire_bytes(raw, source, expected_key=key, expected_version=version)


def load_questionnaire_bytes(
    raw: bytes, source: str, *, expected_key: str | None = None, expected_version: int | None = None
) -> Questionnaire:
    """Load a questionnaire from the bytes of its YAML file."""
    try:
        text = decode_source(raw)
    except YamlSourceError as error:
        raise QuestionnaireError([Problem(source, error.line, None, error.message)]) from None
    return load_questionnaire_text(
        text, source, expected_key=expected_key, expected_version=expected_version, digest=content_hash(raw)
    )


def load_questionnaire_text(
    text: str,
    source: str,
    *,
    expected_key: str | None = None,
    expected_version: int | None = None,
    digest: str | None = None,
    check_schema: bool = True,
) -> Questionnaire:
    """Load a questionnaire from YAML text (raises QuestionnaireError listing every problem).

    ``check_schema=False`` skips the JSON-schema check, two thirds of the time a load takes: only for a text
    known to be one that passed it when it was published (a stored version whose hash matches).
    """
    try:
        document = read_yaml(text)
    except YamlSourceError as error:
        raise QuestionnaireError([Problem(source, error.line, None, error.message)]) from None
    problems = ProblemCollector(source, document)
    if not isinstance(document.data, dict):
        problems.add((), "a questionnaire file is a mapping of keys such as key, version, title and sections")
        problems.raise_if_any()
    schema_errors = (
        sorted(_validator().iter_errors(document.data), key=lambda e: list(map(str, e.absolute_path)))
        if check_schema
        else []
    )
    for schema_error in schema_errors:
        path: JsonPath = tuple(schema_error.absolute_path)
        for problem_path, message in _explain(schema_error, path):
            problems.add(problem_path, message)
    data = _without_unknown_keys(document.data, schema_errors)
    if data is None:
        problems.raise_if_any()
    assert data is not None
    if expected_key is not None and data["key"] != expected_key:
        problems.add(("key",), f"key '{data['key']}' does not match its folder '{expected_key}'")
    if expected_version is not None and data["version"] != expected_version:
        problems.add(
            ("version",), f"version {data['version']} does not match its file name v{expected_version}.yaml"
        )
    digest = digest or content_hash(text.encode("utf-8"))
    questionnaire = build_questionnaire(data, digest, problems)
    problems.raise_if_any()
    assert questionnaire is not None
    return questionnaire


def lint_bytes(
    raw: bytes, source: str, *, expected_key: str | None = None, expected_version: int | None = None
) -> tuple[Questionnaire | None, list[Problem]]:
    """Every problem of a file's bytes, including examples whose scores the scorer does not reproduce.

    Returns the questionnaire when there is no problem at all (None otherwise) and the problems.
    """
    try:
        questionnaire = load_questionnaire_bytes(
            raw, source, expected_key=expected_key, expected_version=expected_version
        )
    except QuestionnaireError as error:
        return None, error.problems
    problems = ProblemCollector(source, read_yaml(decode_source(raw)))
    for index, example in enumerate(questionnaire.examples):
        for mismatch in example_mismatches(questionnaire, example):
            problems.add(("examples", index, "expect"), mismatch)
    return (None, problems.problems) if problems.problems else (questionnaire, [])


def _without_unknown_keys(data: Any, errors: list[jsonschema.ValidationError]) -> Any | None:
    """The data with its unknown keys removed, when they were the schema's only objections; else None.

    A typo in a key is the most common mistake; checking the rest of the file without it lets the
    author see every other problem in the same run. The file is refused either way.
    """
    if not errors:
        return data
    if any(error.validator != "additionalProperties" for error in errors):
        return None
    cleaned = copy.deepcopy(data)
    for error in errors:
        target = cleaned
        for part in error.absolute_path:
            target = target[part]
        allowed = error.schema.get("properties", {})
        for key in [key for key in target if key not in allowed]:
            del target[key]
    return cleaned if next(_validator().iter_errors(cleaned), None) is None else None


def lint_file(path: Path) -> list[Problem]:
    """Every problem of a file, including examples whose expected scores the scorer does not reproduce."""
    source = display_name(path)
    try:
        raw, key, version = _read_file(path, source)
    except QuestionnaireError as error:
        return error.problems
    return lint_bytes(raw, source, expected_key=key, expected_version=version)[1]


def _explain(error: jsonschema.ValidationError, path: JsonPath) -> list[tuple[JsonPath, str]]:
    """Turn a JSON Schema error into messages an author understands."""
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        extras = [key for key in error.instance if key not in allowed]
        hint = f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
        return [
            ((*path, key), f"unknown key '{key}'{hint}{_comma_hint(error.instance, key)}") for key in extras
        ]
    if validator == "required":
        return [(path, error.message.replace("is a required property", "is missing"))]
    if validator is False or error.schema is False:
        return [(path, f"'{path[-1]}' is not allowed here (it does not fit this item type or method)")]
    if validator == "type" and error.validator_value == "integer":
        got = "true/false" if isinstance(error.instance, bool) else repr(error.instance)
        return [(path, f"expected a whole number, got {got} (write it without a decimal point)")]
    if validator == "type" and isinstance(error.instance, bool):
        return [(path, "expected text or a number, got true/false (put the value in quotes)")]
    if validator == "oneOf" and path and path[-1] == "options":
        return [(path, "options is the id of a response_options set or a list of {code, label} options")]
    if validator == "pattern" and isinstance(error.instance, str):
        return [(path, f"'{error.instance}' is not a valid id: use lower-case letters, digits and _")]
    if validator == "propertyNames":
        return [(path, f"bad name in this mapping: {error.message}")]
    return [(path, error.message)]


def _comma_hint(mapping: dict[str, object], key: str) -> str:
    """Explain the usual cause of a stray key: a comma inside unquoted text in a {...} mapping."""
    if mapping[key] is None and " " in key:
        return "; inside {...} a comma ends the text, so put text that contains a comma in quotes"
    return ""
