"""The reviewed access table (``access_matrix.txt``): reading it, and the figures it gives.

Run ``python -m tests.security.matrix_table`` to print the figures (routes, principals, cells checked).
Run ``python -m tests.security.matrix_table observed DIR`` after ``ACCESS_MATRIX_OBSERVED=DIR pytest
tests/security/test_access_matrix.py`` to print the rows as the app answered them, for review and pasting
into the table (a new route: check every cell against the rules in docs/security.md before you paste it).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.routing import Rule

from tests.security.matrix_objects import STATE_CHANGING, relations_of

TABLE_PATH = Path(__file__).with_name("access_matrix.txt")
#: The principals, in the table's column order.
PRINCIPALS = (
    "anon", "client", "couns_a", "couns_b", "lead", "research", "court_yes", "court_no", "admin", "disabled",
)  # fmt: skip
OUTCOMES = {"ok", "signin", "closed", "confined", "401", "403", "404", "405"}


@dataclass(frozen=True)
class Row:
    """One route and method: the expected outcome per principal, per relation (own, other, missing)."""

    endpoint: str
    method: str
    cells: dict[str, tuple[str, ...]]

    def expected(self, principal: str, relation_index: int) -> str:
        """The expected outcome for one principal and relation (a single value stands for all)."""
        cell = self.cells[principal]
        return cell[0] if len(cell) == 1 else cell[relation_index]


def parse_table(text: str) -> dict[tuple[str, str], Row]:
    """The table's rows by (endpoint, method); a malformed line raises with its number."""
    rows: dict[tuple[str, str], Row] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words or words[0] == "endpoint":
            continue
        if len(words) != 2 + len(PRINCIPALS):
            raise ValueError(f"line {number}: {len(words)} columns, expected {2 + len(PRINCIPALS)}")
        endpoint, method, *cells = words
        parsed = {name: tuple(cell.split("/")) for name, cell in zip(PRINCIPALS, cells, strict=True)}
        unknown = {value for cell in parsed.values() for value in cell} - OUTCOMES
        if unknown or (endpoint, method) in rows:
            raise ValueError(f"line {number}: unknown outcome {sorted(unknown)} or a repeated row")
        rows[(endpoint, method)] = Row(endpoint, method, parsed)
    return rows


def load_table() -> dict[tuple[str, str], Row]:
    """The reviewed table."""
    return parse_table(TABLE_PATH.read_text(encoding="utf-8"))


def route_methods(app: Flask) -> list[tuple[Rule, str]]:
    """Every route of the app with GET (where it has one) and each state-changing method it takes."""
    pairs = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint)):
        methods = rule.methods or set()
        pairs.extend((rule, method) for method in ("GET", *STATE_CHANGING) if method in methods)
    return pairs


def cell_count(app: Flask) -> int:
    """How many (route, method, principal, object) combinations the matrix checks."""
    return sum(len(relations_of(rule)) for rule, _ in route_methods(app)) * len(PRINCIPALS)


def format_row(endpoint: str, method: str, cells: dict[str, str]) -> str:
    """A table line, aligned like the file."""
    return f"{endpoint:<38} {method:<6} " + " ".join(f"{cells[name]:<10}" for name in PRINCIPALS).rstrip()


def _print_observed(folder: Path) -> None:
    observed: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(folder.glob("*.json")):
        for key, outcomes in json.loads(path.read_text(encoding="utf-8")).items():
            endpoint, method = key.split(" ")
            observed.setdefault((endpoint, method), {})[path.stem] = "/".join(outcomes)
    for (endpoint, method), cells in sorted(observed.items()):
        print(format_row(endpoint, method, {name: cells.get(name, "?") for name in PRINCIPALS}))


def _print_figures() -> None:
    import tempfile

    from survey_app import create_app

    with tempfile.TemporaryDirectory() as name:  # only the routes are read: the database stays empty
        folder = Path(name)
        app = create_app(
            "testing", DATABASE_URL=f"sqlite:///{folder / 'routes.sqlite3'}", SURVEY_INSTANCE_PATH=name
        )
    pairs = route_methods(app)
    routes = {rule.endpoint for rule, _ in pairs}
    print(f"routes: {len(routes)}, route-method pairs: {len(pairs)}, principals: {len(PRINCIPALS)}")
    print(f"cells checked (route-method x principal x object): {cell_count(app)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "observed":
        _print_observed(Path(sys.argv[2]))
    else:
        _print_figures()
