"""Safe reading of questionnaire YAML: size and depth caps, no anchors or aliases, line numbers kept.

PyYAML's `safe_load` blocks code execution but not alias bombs ("billion laughs"), deep nesting or duplicate
keys. This module reads the event stream first (cheap, iterative) and refuses hostile input before any tree is
built; then it builds plain JSON-compatible data with YAML 1.2 scalar rules (only `true`/`false` are booleans,
so an option labelled `No` stays the text "No") and remembers the line of every value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 16
MAX_EVENTS = 100_000
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same rules, 10x faster

JsonPath = tuple[str | int, ...]

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
#: What YAML itself refuses in a file but lets a quoted text spell as an escape ("\0", "\x1b"): control
#: characters, surrogates and non-characters. No page can show them, and PostgreSQL cannot store a zero byte.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


class YamlSourceError(ValueError):
    """The text is not acceptable YAML for a questionnaire."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class YamlDocument:
    """Plain data read from YAML, with the 1-based line of every value by its path."""

    data: Any
    lines: dict[JsonPath, int] = field(default_factory=dict)

    def line_of(self, path: JsonPath) -> int | None:
        """The line of the value at `path`, or of its closest enclosing value."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def read_capped(path: Path) -> bytes:
    """A file's bytes, reading at most one byte more than a questionnaire may have (so size is checked)."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def decode_source(raw: bytes) -> str:
    """Check size and encoding of a file's bytes and return its text."""
    if len(raw) > MAX_FILE_BYTES:
        raise YamlSourceError(f"file is too large: a questionnaire may be at most {MAX_FILE_BYTES:,} bytes")
    if b"\x00" in raw:
        raise YamlSourceError("file is binary (it contains NUL bytes); a questionnaire is a UTF-8 text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise YamlSourceError(f"file is not UTF-8 text (byte {error.start} cannot be decoded)") from None


def read_yaml(text: str) -> YamlDocument:
    """Read one YAML document safely, refusing anchors, aliases, tags, deep nesting and duplicate keys."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise YamlSourceError(f"text is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        _check_events(text)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise YamlSourceError(f"malformed YAML: {error.problem}", line) from None
    except yaml.YAMLError as error:
        raise YamlSourceError(f"malformed YAML: {error}") from None
    if node is None:
        raise YamlSourceError("file is empty")
    document = YamlDocument(data=None)
    document.data = _build(node, (), document.lines)
    return document


def _check_events(text: str) -> None:
    depth = 0
    documents = 0
    for count, event in enumerate(yaml.parse(text, Loader=_LOADER)):
        line = event.start_mark.line + 1 if event.start_mark else None
        if count > MAX_EVENTS:
            raise YamlSourceError(f"file has more than {MAX_EVENTS:,} YAML elements")
        if isinstance(event, yaml.AliasEvent):
            raise YamlSourceError("aliases (*name) are not allowed; write the value out in full", line)
        if getattr(event, "anchor", None):
            raise YamlSourceError("anchors (&name) are not allowed; write the value out in full", line)
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise YamlSourceError(f"tags ({tag}) are not allowed; quote a value to make it text", line)
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise YamlSourceError("a file holds exactly one YAML document", line)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlSourceError(f"nesting is deeper than {MAX_DEPTH} levels", line)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _build(node: yaml.Node, path: JsonPath, lines: dict[JsonPath, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSourceError(
                    "mapping keys must be plain words or numbers", key_node.start_mark.line + 1
                )
            key = _text(key_node)
            if key in result:
                raise YamlSourceError(f"duplicate key '{key}'", key_node.start_mark.line + 1)
            result[key] = _build(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1  # point at the key, where an author looks
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, index), lines) for index, child in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


def _text(node: yaml.ScalarNode) -> str:
    """A scalar's text, refused when it holds a character no page can show."""
    value = str(node.value)
    found = _UNPRINTABLE.search(value)
    if found:
        raise YamlSourceError(
            f"the text holds a character that cannot be shown (U+{ord(found.group()):04X}); remove it",
            node.start_mark.line + 1,
        )
    return value


def _scalar(node: yaml.ScalarNode) -> Any:
    value = _text(node)
    if node.style:  # quoted or block scalar: always text (plain is None in PyYAML, "" in libyaml)
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        try:
            return int(value)
        except ValueError:  # beyond Python's limit on the digits of a number read from text
            raise YamlSourceError(
                f"the number {value[:10]}... has too many digits", node.start_mark.line + 1
            ) from None
    if _FLOAT.match(value):
        return float(value)
    return value
