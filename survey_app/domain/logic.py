"""Skip rules (``show_if``, flag ``when``): parse, check, evaluate and serialise them, never with ``eval``.

The language is specified in docs/questionnaire-format.md, "Skip rules: the expression language"::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := primary [("==" | "!=" | "<" | "<=" | ">" | ">=") primary | ["not"] "in" list]
    primary    := ITEM | literal | "(" rule ")" | "answered(" ITEM ")" | "contains(" ITEM "," literal ")"
    list       := "[" [literal ("," literal)*] "]"
    literal    := NUMBER | STRING | "true" | "false"

ITEM is ``[a-z][a-z0-9_]*`` but no keyword; NUMBER is ``-?[0-9]+(\\.[0-9]+)?`` with at most 15 digits before
the point; STRING is double-quoted with the escapes ``\\"`` and ``\\\\`` only. Limits: 1000 characters,
nesting depth 32 (each "(" and each "not" counts), 100 values in a list. Positions are 0-based offsets.

JSON form (``to_json``/``from_json``); the tablet's interpreter evaluates it with the same semantics::

    {"item": "x"}                                   the answer of item x
    {"value": v}                                    a number, a string, true or false
    {"op": "and" | "or", "args": [c1, c2, ...]}     two or more conditions, short-circuit
    {"op": "not", "args": [c]}
    {"op": "==" | "!=" | "<" | "<=" | ">" | ">=", "args": [a, b]}
    {"op": "in" | "not in", "args": [a], "values": [v1, ...]}
    {"op": "answered", "item": "x"}
    {"op": "contains", "item": "x", "value": v}

Semantics: an answer that is absent, null, "" or [] is unanswered; ``answered(x)`` is true otherwise. A
comparison, ``in``, ``not in`` or ``contains`` with an unanswered item is false. ``==`` holds only for two
equal numbers (1 == 1.0), two equal strings or two equal booleans (1 != true, "1" != 1); ``!=`` is its
negation; ``< <= > >=`` are false unless both sides are numbers or both are strings (by code point); ``in``
is ``==`` with any value of the list. A list answer (multiple choice) equals nothing: ``contains(x, v)`` is
true when the list holds a value ``== v``. A condition used as a value is its boolean. A rule's result must be
a boolean: anything else is an ExpressionError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, NamedTuple, NoReturn

MAX_LENGTH = 1000
MAX_DEPTH = 32
MAX_LIST = 100
_MAX_DIGITS = 15  # every number stays exact in JavaScript
_MAX_JSON_DEPTH = 4 * MAX_DEPTH  # a parsed rule's tree is at most about 3 * MAX_DEPTH deep
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "answered", "contains"})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_SPACE = " \t\r\n"
_TOKEN = re.compile(
    r"[ \t\r\n]*(?:(?P<number>-?[0-9]+(?:\.[0-9]+)?)|(?P<name>[a-z][a-z0-9_]*)"
    r'|(?P<string>"(?:[^"\\]|\\["\\])*")|(?P<op>[=!<>]=|[<>])|(?P<punct>[()\[\],])|(?P<end>\Z))'
)
_STRING_START = re.compile(r'"(?:[^"\\]|\\["\\])*')
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ITEM_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_HINTS = {
    "=": "compare with '=='",
    "!": "use 'not' or '!='",
    "&": "use 'and'",
    "|": "use 'or'",
    "'": "strings take double quotes",
    "-": "write negative numbers as -1",
    ".": "write decimals as 0.5",
}

Scalar = bool | int | float | str
Kind = Literal["choice", "multi", "number", "date", "text"]


class ExpressionError(ValueError):
    """A rule that cannot be parsed, converted or evaluated; the message says what and where."""

    def __init__(self, reason: str, text: str | None = None, position: int | None = None) -> None:
        self.reason, self.position = reason, position
        if text is not None and position is not None:
            start, end = (0, len(text)) if len(text) <= 80 else (max(0, position - 30), position + 30)
            shown = ("..." if start else "") + f'"{text[start:end]}"' + ("..." if end < len(text) else "")
            reason = f"{reason} at position {position} in {shown}"
        super().__init__(reason)


# --- the tree and its evaluation -------------------------------------------------------------------------

_MISSING = object()


def _present(answer: object) -> bool:
    return answer not in (None, "", [], ())


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _comparable(a: object, b: object) -> bool:
    return (_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str))


def _eq(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return _comparable(a, b) and a == b


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "!=": lambda a, b: not _eq(a, b),
    "<": lambda a, b: _comparable(a, b) and a < b,
    "<=": lambda a, b: _comparable(a, b) and a <= b,
    ">": lambda a, b: _comparable(a, b) and a > b,
    ">=": lambda a, b: _comparable(a, b) and a >= b,
}
_COMPARISONS = tuple(_OPS)


@dataclass(frozen=True, slots=True)
class ItemRef:
    """The answer of an item, by id."""

    name: str

    def _value(self, answers: Mapping[str, object]) -> object:
        answer = answers.get(self.name)
        return answer if _present(answer) else _MISSING


@dataclass(frozen=True, slots=True)
class Value:
    """A literal: a number, a string, true or false."""

    value: Scalar

    def _value(self, answers: Mapping[str, object]) -> object:
        return self.value


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with op one of == != < <= > >=."""

    op: str
    left: Expression
    right: Expression

    def _value(self, answers: Mapping[str, object]) -> object:
        a, b = self.left._value(answers), self.right._value(answers)
        return a is not _MISSING and b is not _MISSING and _OPS[self.op](a, b)


@dataclass(frozen=True, slots=True)
class InList:
    """``operand in [values]``, or ``operand not in [values]`` when negated."""

    operand: Expression
    values: tuple[Scalar, ...]
    negated: bool = False

    def _value(self, answers: Mapping[str, object]) -> object:
        v = self.operand._value(answers)
        return v is not _MISSING and any(_eq(v, x) for x in self.values) != self.negated


@dataclass(frozen=True, slots=True)
class Not:
    """``not arg``."""

    arg: Expression

    def _value(self, answers: Mapping[str, object]) -> object:
        return not _condition(self.arg, answers)


@dataclass(frozen=True, slots=True)
class And:
    """``a and b and ...``: two or more conditions, short-circuit."""

    args: tuple[Expression, ...]

    def _value(self, answers: Mapping[str, object]) -> object:
        for arg in self.args:  # noqa: SIM110 - a plain loop is twice as fast as all() over a generator
            if not _condition(arg, answers):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Or:
    """``a or b or ...``: two or more conditions, short-circuit."""

    args: tuple[Expression, ...]

    def _value(self, answers: Mapping[str, object]) -> object:
        for arg in self.args:  # noqa: SIM110 - a plain loop is twice as fast as any() over a generator
            if _condition(arg, answers):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Answered:
    """``answered(item)``."""

    item: str

    def _value(self, answers: Mapping[str, object]) -> object:
        return _present(answers.get(self.item))


@dataclass(frozen=True, slots=True)
class Contains:
    """``contains(item, value)`` on a multiple-choice answer."""

    item: str
    value: Scalar

    def _value(self, answers: Mapping[str, object]) -> object:
        answer = answers.get(self.item)
        return isinstance(answer, list | tuple) and any(_eq(x, self.value) for x in answer)


Expression = ItemRef | Value | Compare | InList | Not | And | Or | Answered | Contains


def _condition(node: Expression, answers: Mapping[str, object]) -> bool:
    result = node._value(answers)
    if result is True or result is False:
        return result
    raise ExpressionError(f"a rule must be a condition, not {_describe(node)}")


def evaluate(expr: Expression, answers: Mapping[str, object]) -> bool:
    """The rule's value for these answers (item id -> raw answer; absent or None is unanswered)."""
    return _condition(expr, answers)


def _describe(node: Expression) -> str:
    if isinstance(node, ItemRef):
        return f"the item '{node.name}'"
    return f"the value {_show(node.value)}" if isinstance(node, Value) else "a condition"


def _show(v: Scalar) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' if isinstance(v, str) else repr(v)


def _children(node: Expression) -> tuple[Expression, ...]:
    if isinstance(node, And | Or):
        return node.args
    if isinstance(node, Compare):
        return (node.left, node.right)
    return (node.arg,) if isinstance(node, Not) else (node.operand,) if isinstance(node, InList) else ()


def referenced_items(expr: Expression) -> frozenset[str]:
    """The ids of every item the rule mentions."""
    names: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ItemRef | Answered | Contains):
            names.add(node.name if isinstance(node, ItemRef) else node.item)
        stack.extend(_children(node))
    return frozenset(names)


# --- tokens and parser -----------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # number, name, keyword, string, op, punct, end
    value: Scalar
    pos: int
    end: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            _bad_character(text, len(text) - len(text[pos:].lstrip(_SPACE)))
        kind = match.lastgroup or "end"
        raw, start, pos = match.group(kind), match.start(kind), match.end()
        value: Scalar = raw
        if kind == "number":
            if len(raw.lstrip("-").split(".")[0]) > _MAX_DIGITS:
                raise ExpressionError(f"number with more than {_MAX_DIGITS} digits", text, start)
            value = float(raw) if "." in raw else int(raw)
        elif kind == "string":
            value = _UNESCAPE.sub(r"\1", raw[1:-1])
        elif kind == "name" and raw in KEYWORDS:
            kind = "keyword"
        tokens.append(_Token(kind, value, start, pos))
        if kind == "end":
            return tokens


def _bad_character(text: str, i: int) -> NoReturn:
    if text[i] == '"':
        match = _STRING_START.match(text, i)
        j = match.end() if match else i
        if j + 1 < len(text):  # stopped at a backslash that escapes something else than " or \
            raise ExpressionError(f'unknown escape {text[j : j + 2]!r} (only \\" and \\\\)', text, j)
        raise ExpressionError("unterminated string starting", text, i)
    hint = "item ids are lower case" if text[i].isupper() else _HINTS.get(text[i])
    raise ExpressionError(f"unexpected character {text[i]!r}" + (f" ({hint})" if hint else ""), text, i)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.i, self.depth = text, _tokenize(text), 0, 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        self.i += 1
        return self.peek(-1)

    def at(self, value: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind in ("keyword", "punct", "op") and token.value == value

    def accept(self, value: str) -> bool:
        found = self.at(value)
        self.i += found
        return found

    def nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"nested too deeply (more than {MAX_DEPTH} levels)", token)

    def error(self, reason: str, token: _Token | None = None) -> NoReturn:
        raise ExpressionError(reason, self.text, (token or self.peek()).pos)

    def fail(self, expected: str, token: _Token | None = None) -> NoReturn:
        token = token or self.peek()
        found = "the end" if token.kind == "end" else repr(self.text[token.pos : token.end][:30])
        self.error(f"expected {expected} but found {found}", token)

    def close(self, punct: str, usage: str | None = None) -> None:
        if not self.at(punct):
            if usage:
                self.error(usage)
            self.fail(repr(punct))
        self.take()

    def rule(self) -> Expression:
        expr = self.boolean("or")
        if self.peek().kind != "end":
            self.fail("'and', 'or' or the end of the rule")
        return expr

    def boolean(self, word: str) -> Expression:
        args = [self.boolean("and") if word == "or" else self.negation()]
        while self.accept(word):
            args.append(self.boolean("and") if word == "or" else self.negation())
        if len(args) == 1:
            return args[0]
        return Or(tuple(args)) if word == "or" else And(tuple(args))

    def negation(self) -> Expression:
        count = 0
        while self.at("not"):
            self.nest(self.take())
            count += 1
        expr = self.comparison()
        for _ in range(count):
            expr = Not(expr)
        self.depth -= count
        return expr

    def comparison(self) -> Expression:
        left = self.primary()
        expr: Expression
        negated = self.at("not") and self.at("in", 1)
        if self.peek().kind == "op":
            expr = Compare(str(self.take().value), left, self.primary())
        elif negated or self.at("in"):
            self.i += 1 + negated
            expr = InList(left, self.values(), negated)
        else:
            return left
        if self.peek().kind == "op" or self.at("in") or (self.at("not") and self.at("in", 1)):
            self.error("comparisons cannot be chained (use 'and')")
        return expr

    def primary(self) -> Expression:
        token = self.take()
        if token.kind == "name":
            return ItemRef(str(token.value))
        if token.kind in ("number", "string") or token.value in ("true", "false"):
            return Value(token.value == "true" if token.kind == "keyword" else token.value)
        if token.kind == "punct" and token.value == "(":
            self.nest(token)
            expr = self.boolean("or")
            self.close(")")
            self.depth -= 1
            return expr
        if token.value in ("answered", "contains") and token.kind == "keyword" and self.at("("):
            self.take()
            item, answered = self.take(), token.value == "answered"
            usage = "answered() takes one item id, as in answered(x)"
            if not answered:
                usage = "contains() takes an item id and a value, as in contains(x, 2)"
            if item.kind != "name":
                self.error(usage, item)
            if answered:
                self.close(")", usage)
                return Answered(str(item.value))
            self.close(",", usage)
            value = self.literal()
            self.close(")", usage)
            return Contains(str(item.value), value)
        if token.kind == "keyword":
            self.error(f"'{token.value}' is a reserved word, not an item id", token)
        if token.kind == "punct" and token.value == "[":
            self.error("a list is only allowed after 'in' or 'not in'", token)
        self.fail("an item id, a value or '('", token)

    def literal(self) -> Scalar:
        token = self.take()
        if token.kind in ("number", "string"):
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false"):
            return token.value == "true"
        self.fail("a number, a string, true or false", token)

    def values(self) -> tuple[Scalar, ...]:
        self.close("[", "expected a list like [1, 2] after 'in'")
        if self.accept("]"):
            return ()
        values = [self.literal()]
        while self.accept(","):
            if len(values) == MAX_LIST:
                self.error(f"a list may hold at most {MAX_LIST} values")
            values.append(self.literal())
        if not self.accept("]"):
            self.fail("',' or ']'")
        return tuple(values)


def parse(text: str) -> Expression:
    """Parse a rule into its tree; raise ExpressionError for any syntax error or exceeded limit."""
    if not isinstance(text, str):
        raise ExpressionError(f"a rule must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the rule is too long ({len(text)} characters; at most {MAX_LENGTH})")
    if not text.strip(_SPACE):
        raise ExpressionError("the rule is empty")
    return _Parser(text).rule()


# --- static check ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemSignature:
    """What check() knows of an item: its kind and its answer codes (choice, multi) or range (number)."""

    kind: Kind
    codes: frozenset[int] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("choice", "multi", "number", "date", "text"):
            raise ValueError(f"unknown item kind {self.kind!r}")


def _is_date(v: object) -> bool:
    try:
        return isinstance(v, str) and _ISO_DATE.match(v) is not None and bool(date.fromisoformat(v))
    except ValueError:
        return False


def _value_problem(name: str, sig: ItemSignature, op: str, v: Scalar) -> str | None:
    kind = sig.kind
    if kind == "multi" and op != "contains":
        return f"'{name}' is a multiple-choice item: use contains({name}, code) instead of '{op}'"
    if isinstance(v, bool):
        return f"'{name}' is compared with {_show(v)}; answers are never true or false (yes/no is 1 or 0)"
    if kind == "date":
        return None if _is_date(v) else f"'{name}' is a date item: compare it with a date like \"2024-01-31\""
    if kind == "text":
        if not isinstance(v, str):
            return f"'{name}' is a text item and cannot be compared with the number {v!r}"
        return f"'{name}' is a text item: compare it with == or !=, not '{op}'" if op in _ORDERING else None
    if isinstance(v, str):
        return f"'{name}' is a {kind} item and cannot be compared with the string {_show(v)}"
    if kind == "number":
        low, high = sig.minimum, sig.maximum
        if (low is not None and v < low) or (high is not None and v > high):
            shown = f"{'' if low is None else f'{low:g}'} to {'' if high is None else f'{high:g}'}".strip()
            return f"'{name}' is compared with {v!r}, outside its range {shown}"
        return None
    if isinstance(v, float):
        return f"'{name}' has whole-number answer codes, not {v!r}"
    return None if sig.codes is None or v in sig.codes else f"'{name}' has no answer code {v}"


def check(expr: Expression, items: Mapping[str, ItemSignature]) -> list[str]:
    """Every problem of the rule against these items, each once, in order; an empty list means fine."""
    problems: list[str | None] = []

    def known(name: str) -> ItemSignature | None:
        if name not in items:
            problems.append(f"unknown item '{name}'")
        return items.get(name)

    def walk(node: Expression, context: str) -> None:
        if isinstance(node, ItemRef) or (isinstance(node, Value) and not isinstance(node.value, bool)):
            problems.append(f"{context}, not {_describe(node)}")
        if isinstance(node, ItemRef | Answered):
            known(node.name if isinstance(node, ItemRef) else node.item)
        elif isinstance(node, And | Or | Not):
            for arg in _children(node):
                walk(arg, f"'{type(node).__name__.lower()}' needs conditions")
        elif isinstance(node, Contains) and (sig := known(node.item)) is not None:
            if sig.kind != "multi":
                problems.append(
                    f"contains() needs a multiple-choice item; '{node.item}' is a {sig.kind} item"
                )
            else:
                problems.append(_value_problem(node.item, sig, "contains", node.value))
        elif isinstance(node, InList):
            op = "not in" if node.negated else "in"
            if not isinstance(node.operand, ItemRef):
                problems.append(f"'{op}' needs an item on its left, not {_describe(node.operand)}")
                if not isinstance(node.operand, Value):
                    walk(node.operand, "")
            elif (sig := known(node.operand.name)) is not None:
                problems.extend(_value_problem(node.operand.name, sig, op, v) for v in node.values)
            if not node.values:
                problems.append(f"'{op}' needs at least one value in its list")
        elif isinstance(node, Compare):
            comparison(node.op, node.left, node.right)

    def comparison(op: str, left: Expression, right: Expression) -> None:
        if not isinstance(left, ItemRef | Value) or not isinstance(right, ItemRef | Value):
            problems.append(f"'{op}' compares an item with a value, not a condition")
            for side in (left, right):
                if isinstance(side, ItemRef):
                    known(side.name)
                elif not isinstance(side, Value):
                    walk(side, "")
        elif isinstance(left, Value) and isinstance(right, Value):
            problems.append(
                f"{_show(left.value)} {op} {_show(right.value)} compares two values; name an item"
            )
        elif isinstance(left, Value) or isinstance(right, Value):
            ref, lit = (left, right) if isinstance(left, ItemRef) else (right, left)
            if isinstance(ref, ItemRef) and isinstance(lit, Value) and (sig := known(ref.name)) is not None:
                problems.append(_value_problem(ref.name, sig, op, lit.value))
        elif (a := known(left.name)) is not None and (b := known(right.name)) is not None:
            group = {"choice": "number"}
            if "multi" in (a.kind, b.kind):
                problems.append(f"multiple-choice items cannot be compared with '{op}': use contains()")
            elif group.get(a.kind, a.kind) != group.get(b.kind, b.kind):
                problems.append(f"'{left.name}' ({a.kind}) cannot be compared with '{right.name}' ({b.kind})")
            elif a.kind == "text" and op in _ORDERING:
                problems.append(f"text items can only be compared with == or !=, not '{op}'")

    walk(expr, "a rule must be a condition")
    return [p for p in dict.fromkeys(problems) if p is not None]


# --- JSON ------------------------------------------------------------------------------------------------


def to_json(expr: Expression) -> dict[str, object]:
    """The rule as JSON-serialisable data (the shapes are listed in the module docstring)."""
    if isinstance(expr, ItemRef):
        return {"item": expr.name}
    if isinstance(expr, Value):
        return {"value": expr.value}
    if isinstance(expr, Answered):
        return {"op": "answered", "item": expr.item}
    if isinstance(expr, Contains):
        return {"op": "contains", "item": expr.item, "value": expr.value}
    args = [to_json(a) for a in _children(expr)]
    if isinstance(expr, InList):
        return {"op": "not in" if expr.negated else "in", "args": args, "values": list(expr.values)}
    return {"op": expr.op if isinstance(expr, Compare) else type(expr).__name__.lower(), "args": args}


def _brief(data: object) -> str:  # never repr() a deep or huge structure: that can raise
    if isinstance(data, str):
        return repr(data[:40])
    if isinstance(data, float | bool) or data is None or (isinstance(data, int) and abs(data) < 10**40):
        return repr(data)
    return f"a {type(data).__name__}"


def _json_item(data: object) -> str:
    if isinstance(data, str) and len(data) <= MAX_LENGTH and _ITEM_ID.match(data) and data not in KEYWORDS:
        return data
    raise ExpressionError(f"not an item id: {_brief(data)}")


def _json_scalar(data: object) -> Scalar:
    if isinstance(data, bool | str):
        return data
    if isinstance(data, int | float) and abs(data) < 10**_MAX_DIGITS:  # False for nan and inf too
        return data
    raise ExpressionError(f"not a number, string or boolean: {_brief(data)}")


def _json_node(data: object, depth: int) -> Expression:
    if depth > _MAX_JSON_DEPTH:
        raise ExpressionError(f"the JSON rule is nested more than {_MAX_JSON_DEPTH} levels deep")
    if not isinstance(data, dict):
        raise ExpressionError(f"expected a JSON object, not {type(data).__name__}")
    keys, op, args, values = set(data), data.get("op"), data.get("args"), data.get("values")
    problem = f"not a rule node: op {_brief(op)}, keys [{', '.join(sorted(_brief(k) for k in keys)[:6])}]"
    if keys == {"item"}:
        return ItemRef(_json_item(data["item"]))
    if keys == {"op", "item"} and op == "answered":
        return Answered(_json_item(data["item"]))
    if keys == {"value"}:
        return Value(_json_scalar(data["value"]))
    if keys == {"op", "item", "value"} and op == "contains":
        return Contains(_json_item(data["item"]), _json_scalar(data["value"]))
    shape = {"op", "args", "values"} if op in ("in", "not in") else {"op", "args"}
    if not isinstance(args, list) or keys != shape:
        raise ExpressionError(problem)
    nodes = tuple(_json_node(a, depth + 1) for a in args)
    if op in ("and", "or") and len(nodes) >= 2:
        return And(nodes) if op == "and" else Or(nodes)
    if op == "not" and len(nodes) == 1:
        return Not(nodes[0])
    if op in _COMPARISONS and len(nodes) == 2:
        return Compare(str(op), nodes[0], nodes[1])
    if op in ("in", "not in") and len(nodes) == 1 and isinstance(values, list) and len(values) <= MAX_LIST:
        return InList(nodes[0], tuple(_json_scalar(v) for v in values), op == "not in")
    raise ExpressionError(problem)


def from_json(data: object) -> Expression:
    """The rule that to_json() gave as data; raise ExpressionError for anything of another shape."""
    return _json_node(data, 0)
