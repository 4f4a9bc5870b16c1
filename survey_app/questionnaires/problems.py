"""Problems found in a questionnaire file, each with the file, the line and the item it concerns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survey_app.questionnaires.yaml_source import JsonPath, YamlDocument

MAX_PROBLEMS = 200


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a questionnaire file."""

    source: str
    line: int | None
    context: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.context}: {self.message}" if self.context else f"{where}: {self.message}"


class QuestionnaireError(ValueError):
    """A questionnaire file cannot be loaded; `problems` lists everything wrong with it at once."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


class ProblemCollector:
    """Collects problems for one file, finding the line and the item id from a path into the document."""

    def __init__(self, source: str, document: YamlDocument | None = None) -> None:
        self.source = source
        self.document = document
        self.problems: list[Problem] = []

    def add(self, path: JsonPath, message: str) -> None:
        """Record a problem at `path` (a path of keys and indexes into the document)."""
        if len(self.problems) >= MAX_PROBLEMS:
            return
        line = self.document.line_of(path) if self.document else None
        self.problems.append(Problem(self.source, line, self._context(path), message))

    def add_line(self, line: int | None, message: str) -> None:
        """Record a problem known only by its line."""
        self.problems.append(Problem(self.source, line, None, message))

    def raise_if_any(self) -> None:
        """Raise QuestionnaireError when a problem was recorded."""
        if self.problems:
            raise QuestionnaireError(self.problems)

    def _context(self, path: JsonPath) -> str | None:
        """Name the item, scale, flag or example a path points into."""
        data: Any = self.document.data if self.document else None
        if data is None:
            return None
        patterns: list[tuple[JsonPath, str]] = [
            (("sections", "*", "items", "*"), "item"),
            (("scoring", "scales", "*"), "scale"),
            (("scoring", "flags", "*"), "flag"),
            (("examples", "*"), "example"),
            (("sections", "*"), "section"),
            (("response_options", "*"), "options"),
        ]
        for pattern, kind in patterns:
            if len(path) < len(pattern) or not all(
                p == "*" or p == q for p, q in zip(pattern, path, strict=False)
            ):
                continue
            node = _follow(data, path[: len(pattern)])
            if kind == "options":
                return f"options {path[1]}"
            label = node.get("name" if kind == "example" else "id") if isinstance(node, dict) else None
            if label is None:
                return f"{kind} #{int(path[len(pattern) - 1]) + 1}"
            return f"example '{label}'" if kind == "example" else f"{kind} {label}"
        return None


def _follow(data: Any, path: JsonPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
