"""Tests for the skip-rule language in survey_app.domain.logic (pure functions, no app)."""

from __future__ import annotations

import json
import random
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.domain.logic import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Answered,
    Compare,
    Contains,
    Expression,
    ExpressionError,
    InList,
    ItemRef,
    ItemSignature,
    Not,
    Or,
    Value,
    check,
    evaluate,
    from_json,
    parse,
    referenced_items,
    to_json,
)

x, y, z = ItemRef("x"), ItemRef("y"), ItemRef("z")


def eq(left: Expression, right: object) -> Compare:
    return Compare("==", left, right if isinstance(right, ItemRef) else Value(right))  # type: ignore[arg-type]


# --- parsing ------------------------------------------------------------------------------------------

PARSE_CASES: list[tuple[str, Expression]] = [
    ("x == 1", eq(x, 1)),
    ("x==1", eq(x, 1)),
    ("  x\t==\n1  ", eq(x, 1)),
    ("x != 1", Compare("!=", x, Value(1))),
    ("x < 1", Compare("<", x, Value(1))),
    ("x <= 1", Compare("<=", x, Value(1))),
    ("x > 1", Compare(">", x, Value(1))),
    ("x >= 1", Compare(">=", x, Value(1))),
    ("1 < x", Compare("<", Value(1), x)),
    ("x == y", eq(x, y)),
    ("x == -3", eq(x, -3)),
    ("x == 2.5", eq(x, 2.5)),
    ("x == -0.25", eq(x, -0.25)),
    ("x == 007", eq(x, 7)),
    ("x == 999999999999999", eq(x, 999999999999999)),
    ('x == "abc"', eq(x, "abc")),
    ('x == ""', eq(x, "")),
    (r'x == "say \"hi\""', eq(x, 'say "hi"')),
    (r'x == "back\\slash"', eq(x, "back\\slash")),
    (r'x == "\\\""', eq(x, '\\"')),
    ('x == "and or not ( ) [ ] ,"', eq(x, "and or not ( ) [ ] ,")),
    ('x == "é ü 中"', eq(x, "é ü 中")),
    ("x == true", eq(x, True)),
    ("x == false", eq(x, False)),
    ("true", Value(True)),
    ("x", x),
    ("phq9_item_10 == 1", eq(ItemRef("phq9_item_10"), 1)),
    ("android == 1", eq(ItemRef("android"), 1)),  # keywords inside ids are fine
    ("x in [1, 2, 3]", InList(x, (1, 2, 3))),
    ("x in [1]", InList(x, (1,))),
    ("x in []", InList(x, ())),
    ('x in [1, -2.5, "a", true]', InList(x, (1, -2.5, "a", True))),
    ("x not in [1, 2]", InList(x, (1, 2), negated=True)),
    ("x  not   in[1,2]", InList(x, (1, 2), negated=True)),
    ("not x in [1]", Not(InList(x, (1,)))),
    ("answered(x)", Answered("x")),
    ("answered ( x )", Answered("x")),
    ("not answered(x)", Not(Answered("x"))),
    ("contains(x, 2)", Contains("x", 2)),
    ('contains(x, "a")', Contains("x", "a")),
    ("x == 1 and y == 2", And((eq(x, 1), eq(y, 2)))),
    ("x == 1 and y == 2 and z == 3", And((eq(x, 1), eq(y, 2), eq(z, 3)))),
    ("x == 1 or y == 2 or z == 3", Or((eq(x, 1), eq(y, 2), eq(z, 3)))),
    # precedence: or < and < not < comparison
    ("x == 1 or y == 2 and z == 3", Or((eq(x, 1), And((eq(y, 2), eq(z, 3)))))),
    ("x == 1 and y == 2 or z == 3", Or((And((eq(x, 1), eq(y, 2))), eq(z, 3)))),
    ("(x == 1 or y == 2) and z == 3", And((Or((eq(x, 1), eq(y, 2))), eq(z, 3)))),
    ("not x == 1", Not(eq(x, 1))),
    ("not x == 1 and y == 2", And((Not(eq(x, 1)), eq(y, 2)))),
    ("not (x == 1 and y == 2)", Not(And((eq(x, 1), eq(y, 2))))),
    ("not not x == 1", Not(Not(eq(x, 1)))),
    ("x == 1 or not y == 2", Or((eq(x, 1), Not(eq(y, 2))))),
    ("((((x == 1))))", eq(x, 1)),
    ("((x == 1) or ((y == 2)))", Or((eq(x, 1), eq(y, 2)))),
    ("(x == 1) == true", Compare("==", eq(x, 1), Value(True))),
    (
        "top_inject_days > 0 and not (top_sharing == 1)",
        And((Compare(">", ItemRef("top_inject_days"), Value(0)), Not(eq(ItemRef("top_sharing"), 1)))),
    ),
    (
        "contains(fun_income_sources, 2) or answered(fun_income_other)",
        Or((Contains("fun_income_sources", 2), Answered("fun_income_other"))),
    ),
    ("(" * MAX_DEPTH + "x == 1" + ")" * MAX_DEPTH, eq(x, 1)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse(text: str, expected: Expression) -> None:
    result = parse(text)
    assert result == expected
    assert repr(result) == repr(expected)  # 1 == True and 1 == 1.0 would hide a wrong literal type


def test_not_chain_at_the_depth_limit() -> None:
    expr = parse("not " * MAX_DEPTH + "x == 1")
    for _ in range(MAX_DEPTH):
        assert isinstance(expr, Not)
        expr = expr.arg
    assert expr == eq(x, 1)


def test_tree_is_immutable_and_hashable() -> None:
    expr = parse("x in [1, 2] and not answered(y)")
    with pytest.raises(AttributeError):
        expr.args = ()  # type: ignore[misc, union-attr]
    assert hash(expr) == hash(parse("x in [1, 2] and not answered(y)"))


def test_referenced_items() -> None:
    expr = parse('a == 1 or (b in [1] and not answered(c)) or contains(d, 2) or e < f or "g" == h')
    assert referenced_items(expr) == frozenset("abcdefh")
    assert referenced_items(parse("true")) == frozenset()


# --- syntax errors ------------------------------------------------------------------------------------

SYNTAX_ERRORS: list[tuple[str, str, int]] = [  # text, reason, position
    ("a == (1 or 2", "expected ')' but found the end", 12),
    ('x == "abc', "unterminated string starting", 5),
    ('x == "abc\\', "unterminated string starting", 5),
    (r'x == "a\nb"', r"""unknown escape '\\n' (only \" and \\)""", 7),
    ("x $ 1", "unexpected character '$'", 2),
    ("x == 1 ; y", "unexpected character ';'", 7),
    ("x == 1\x00", "unexpected character '\\x00'", 6),
    ("x = 1", "unexpected character '=' (compare with '==')", 2),
    ("!x", "unexpected character '!' (use 'not' or '!=')", 0),
    ("x == 1 && y == 2", "unexpected character '&' (use 'and')", 7),
    ("x == 'a'", 'unexpected character "\'" (strings take double quotes)', 5),
    ("Phq9 == 1", "unexpected character 'P' (item ids are lower case)", 0),
    ("_x == 1", "unexpected character '_'", 0),
    ("x == - 1", "unexpected character '-' (write negative numbers as -1)", 5),
    ("x == 1.", "unexpected character '.' (write decimals as 0.5)", 6),
    ("x == .5", "unexpected character '.' (write decimals as 0.5)", 5),
    ("x == 1 y", "expected 'and', 'or' or the end of the rule but found 'y'", 7),
    ("x == 1)", "expected 'and', 'or' or the end of the rule but found ')'", 6),
    ("x not y", "expected 'and', 'or' or the end of the rule but found 'not'", 2),
    ("x == 1 and", "expected an item id, a value or '(' but found the end", 10),
    ("x ==", "expected an item id, a value or '(' but found the end", 4),
    ("== 1", "expected an item id, a value or '(' but found '=='", 0),
    ("()", "expected an item id, a value or '(' but found ')'", 1),
    ("(x == 1", "expected ')' but found the end", 7),
    ("(x == 1 y)", "expected ')' but found 'y'", 8),
    ("a < b < c", "comparisons cannot be chained (use 'and')", 6),
    ("a == 1 == true", "comparisons cannot be chained (use 'and')", 7),
    ("a in [1] in [2]", "comparisons cannot be chained (use 'and')", 9),
    ("a == 1 not in [2]", "comparisons cannot be chained (use 'and')", 7),
    ("in == 1", "'in' is a reserved word, not an item id", 0),
    ("x == 1 and and == 2", "'and' is a reserved word, not an item id", 11),
    ("or == 1", "'or' is a reserved word, not an item id", 0),
    ("answered == 1", "'answered' is a reserved word, not an item id", 0),
    ("contains > 1", "'contains' is a reserved word, not an item id", 0),
    ("x == contains", "'contains' is a reserved word, not an item id", 5),
    ("x in y", "expected a list like [1, 2] after 'in'", 5),
    ("x not in 3", "expected a list like [1, 2] after 'in'", 9),
    ("x in (1, 2)", "expected a list like [1, 2] after 'in'", 5),
    ("x in [1,]", "expected a number, a string, true or false but found ']'", 8),
    ("x in [1 2]", "expected ',' or ']' but found '2'", 8),
    ("x in [y]", "expected a number, a string, true or false but found 'y'", 6),
    ("x in [[1]]", "expected a number, a string, true or false but found '['", 6),
    ("x in [1", "expected ',' or ']' but found the end", 7),
    ("[1] == x", "a list is only allowed after 'in' or 'not in'", 0),
    ("x == [1]", "a list is only allowed after 'in' or 'not in'", 5),
    ("answered(x == 1)", "answered() takes one item id, as in answered(x)", 11),
    ("answered()", "answered() takes one item id, as in answered(x)", 9),
    ('answered("x")', "answered() takes one item id, as in answered(x)", 9),
    ("answered(x, y)", "answered() takes one item id, as in answered(x)", 10),
    ("contains(x)", "contains() takes an item id and a value, as in contains(x, 2)", 10),
    ("contains(1, x)", "contains() takes an item id and a value, as in contains(x, 2)", 9),
    ("contains(x, y)", "expected a number, a string, true or false but found 'y'", 12),
    ("contains(x, 1, 2)", "contains() takes an item id and a value, as in contains(x, 2)", 13),
    ("x == 1234567890123456", "number with more than 15 digits", 5),
    ("x == -1234567890123456.5", "number with more than 15 digits", 5),
]


@pytest.mark.parametrize(("text", "reason", "position"), SYNTAX_ERRORS)
def test_syntax_errors(text: str, reason: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert str(caught.value) == f'{reason} at position {position} in "{text}"'
    assert (caught.value.reason, caught.value.position) == (reason, position)
    assert isinstance(caught.value, ValueError)


ERROR_CASES: list[tuple[object, str]] = [
    ("a == (1 or 2", "expected ')' but found the end at position 12 in \"a == (1 or 2\""),
    ("", "the rule is empty"),
    (" \t\n ", "the rule is empty"),
    ("x" * (MAX_LENGTH + 1), f"the rule is too long ({MAX_LENGTH + 1} characters; at most {MAX_LENGTH})"),
    ("(" * 10_000 + "x == 1" + ")" * 10_000, "the rule is too long (20006 characters; at most 1000)"),
    (
        "(" * (MAX_DEPTH + 1) + "x == 1" + ")" * (MAX_DEPTH + 1),
        f'nested too deeply (more than 32 levels) at position 32 in "{"(" * 33}x == 1{")" * 33}"',
    ),
    (
        "not " * (MAX_DEPTH + 1) + "x == 1",
        """nested too deeply (more than 32 levels) at position 128 in ..."t not not not not not not not """
        'not x == 1"',
    ),
    (None, "a rule must be text, not NoneType"),
    (True, "a rule must be text, not bool"),
    (1, "a rule must be text, not int"),
]


@pytest.mark.parametrize(("text", "message"), ERROR_CASES)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_error_carries_its_position() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("a == (1 or 2")
    assert caught.value.position == 12
    assert caught.value.reason == "expected ')' but found the end"


def test_list_length_limit() -> None:
    hundred = "x in [" + ", ".join(str(i) for i in range(100)) + "]"
    assert len(parse(hundred).values) == 100  # type: ignore[union-attr]
    with pytest.raises(
        ExpressionError, match=r"^a list may hold at most 100 values at position 396 in \.\.\."
    ):
        parse("x in [" + ", ".join(str(i) for i in range(101)) + "]")


# --- hostile input ------------------------------------------------------------------------------------


def test_ten_thousand_parentheses_give_expression_error() -> None:
    for text in ("(" * 10_000, "(" * 10_000 + "x" + ")" * 10_000, "not " * 10_000 + "x", "[" * 10_000):
        with pytest.raises(ExpressionError):
            parse(text)


def test_deepest_rule_within_the_length_limit() -> None:
    depth = (MAX_LENGTH - 6) // 2
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * depth + "x == 1" + ")" * depth)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(not " * 100 + "x == 1" + ")" * 100)


def test_longest_rule_parses_and_evaluates() -> None:
    text = " or ".join(f"item_{i} == {i}" for i in range(60))
    text = text[: text.rfind(" or ", 0, MAX_LENGTH)]
    assert 950 < len(text) <= MAX_LENGTH
    expr = parse(text)
    assert isinstance(expr, Or)
    assert evaluate(expr, {"item_0": 0}) is True
    assert evaluate(expr, {}) is False
    assert parse(text + " " * (MAX_LENGTH - len(text))) == expr


def test_deepest_rule_evaluates_and_round_trips() -> None:
    text = "(not " * 14 + "(x == 1 or (y == 2 and (z == 3 or (x in [1] and answered(y)))))" + ")" * 14
    expr = parse(text)
    assert evaluate(expr, {"x": 1, "y": 2}) is True
    assert from_json(json.loads(json.dumps(to_json(expr)))) == expr


# --- evaluation ---------------------------------------------------------------------------------------

EVAL_CASES: list[tuple[str, dict[str, object], bool]] = [
    ("x == 1", {"x": 1}, True),
    ("x == 1", {"x": 2}, False),
    ("x == 1", {"x": 1.0}, True),
    ("x == 1", {"x": "1"}, False),
    ("x == 1", {"x": True}, False),
    ("x == true", {"x": 1}, False),
    ("x == 1", {"x": [1]}, False),
    ("x != 1", {"x": 2}, True),
    ("x != 1", {"x": 1}, False),
    ("x != 1", {"x": "1"}, True),
    ("x >= 1", {"x": 1}, True),
    ("x > 1", {"x": 1}, False),
    ("x < 1", {"x": 0}, True),
    ("x <= 1", {"x": 1}, True),
    ("x < 1", {"x": "0"}, False),
    ("x < 1", {"x": [0]}, False),
    ("x >= 2.5", {"x": 2.5}, True),
    ("x >= 2.5", {"x": 2}, False),
    ("x == -3", {"x": -3}, True),
    ("x > -0.5", {"x": 0}, True),
    ("x < y", {"x": 1, "y": 2}, True),
    ("x == y", {"x": 1, "y": 1.0}, True),
    ("x == y", {"x": 1}, False),
    ("1 < x", {"x": 2}, True),
    ('x == "a\\"b\\\\"', {"x": 'a"b\\'}, True),
    ('x == "abc"', {"x": "abd"}, False),
    ('x >= "2024-01-01"', {"x": "2024-02-01"}, True),
    ('x >= "2024-01-01"', {"x": "2023-12-31"}, False),
    # unanswered items: every comparison is false, not() of it is true
    ("x == 1", {}, False),
    ("x != 1", {}, False),
    ("x != 1", {"x": None}, False),
    ("x < 1", {"x": None}, False),
    ("not (x == 1)", {}, True),
    ("not x == 1", {}, True),
    ("not (x != 1)", {}, True),
    ("x in [1, 2]", {}, False),
    ("x not in [1, 2]", {}, False),
    ("not x in [1, 2]", {}, True),
    ('x == ""', {"x": ""}, False),
    ("x in [1, 2]", {"x": 2}, True),
    ("x in [1, 2]", {"x": 3}, False),
    ("x in [1, 2]", {"x": 2.0}, True),
    ('x in [1, "2"]', {"x": 2}, False),
    ("x in [true]", {"x": 1}, False),
    ("x in []", {"x": 1}, False),
    ("x not in [1, 2]", {"x": 3}, True),
    ("x not in [1, 2]", {"x": 1}, False),
    ("x not in []", {"x": 1}, True),
    ("answered(x)", {"x": 0}, True),
    ("answered(x)", {"x": "no"}, True),
    ("answered(x)", {"x": [3]}, True),
    ("answered(x)", {"x": None}, False),
    ("answered(x)", {"x": []}, False),
    ("answered(x)", {"x": ""}, False),
    ("answered(x)", {}, False),
    ("not answered(x)", {}, True),
    ("contains(x, 2)", {"x": [1, 2]}, True),
    ("contains(x, 2)", {"x": (2,)}, True),
    ("contains(x, 2)", {"x": [1, 3]}, False),
    ("contains(x, 2)", {"x": []}, False),
    ("contains(x, 2)", {"x": None}, False),
    ("contains(x, 2)", {}, False),
    ("contains(x, 2)", {"x": 2}, False),
    ("contains(x, 2)", {"x": "2"}, False),
    ('contains(x, "b")', {"x": ["a", "b"]}, True),
    ("true", {}, True),
    ("false", {}, False),
    ("x == 1 and y == 2", {"x": 1, "y": 2}, True),
    ("x == 1 and y == 2", {"x": 1}, False),
    ("x == 1 or y == 2", {"y": 2}, True),
    ("x == 1 or y == 2 and z == 3", {"x": 1}, True),
    ("(x == 1 or y == 2) and z == 3", {"x": 1}, False),
    ("not x == 1 and y == 2", {"x": 2, "y": 2}, True),
    ("not not x == 1", {"x": 1}, True),
    ("(x == 1) == true", {"x": 1}, True),
    ("(x == 1) == (y == 1)", {}, True),
    ("((((x == 1))))", {"x": 1}, True),
    ("answered(x) and x > 1", {"x": 2}, True),
    ("phq9_selfharm >= 1", {"phq9_selfharm": 0}, False),
    ("top_inject_days > 0 and not (top_sharing == 1)", {"top_inject_days": 4}, True),
    ("top_inject_days > 0 and not (top_sharing == 1)", {"top_inject_days": 4, "top_sharing": 1}, False),
    ("fun_housing in [3, 4, 5]", {"fun_housing": 4}, True),
    ("contains(fun_income_sources, 2) or answered(fun_income_other)", {"fun_income_other": "odd jobs"}, True),
    ("contains(fun_income_sources, 2) or answered(fun_income_other)", {"fun_income_sources": [1]}, False),
]


@pytest.mark.parametrize(("text", "answers", "expected"), EVAL_CASES)
def test_evaluate(text: str, answers: dict[str, object], expected: bool) -> None:
    expr = parse(text)
    assert evaluate(expr, answers) is expected
    assert evaluate(expr, MappingProxyType(answers)) is expected
    assert evaluate(from_json(json.loads(json.dumps(to_json(expr)))), answers) is expected


def test_and_or_short_circuit() -> None:
    # 'y' is not a condition: evaluating it raises, so these pass only when it is never reached
    assert evaluate(parse("false and y"), {}) is False
    assert evaluate(parse("true or y"), {}) is True
    assert evaluate(parse("x == 1 or y"), {"x": 1}) is True
    with pytest.raises(ExpressionError, match=r"^a rule must be a condition, not the item 'y'$"):
        evaluate(parse("true and y"), {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", "a rule must be a condition, not the item 'x'"),
        ("1", "a rule must be a condition, not the value 1"),
        ('"a"', 'a rule must be a condition, not the value "a"'),
        ("not x", "a rule must be a condition, not the item 'x'"),
    ],
)
def test_evaluate_rejects_a_value_as_the_result(text: str, message: str) -> None:
    for answers in ({}, {"x": 1}):
        with pytest.raises(ExpressionError) as caught:
            evaluate(parse(text), answers)
        assert str(caught.value) == message


# --- static check -------------------------------------------------------------------------------------

ITEMS = {
    "phq9_down": ItemSignature("choice", frozenset({0, 1, 2, 3})),
    "smoker": ItemSignature("choice", frozenset({0, 1})),
    "mood": ItemSignature("choice"),  # codes unknown: not checked
    "sources": ItemSignature("multi", frozenset({1, 2, 3, 9})),
    "days": ItemSignature("number", minimum=0, maximum=28),
    "pain": ItemSignature("number", minimum=0.5, maximum=10),
    "count": ItemSignature("number", minimum=0),
    "visit": ItemSignature("date"),
    "note": ItemSignature("text"),
}

CHECK_CASES: list[tuple[str, list[str]]] = [
    ("phq9_down >= 1", []),
    ("phq9_down < 3 and phq9_down > 0", []),  # ordering on Likert codes is allowed
    ("phq9_down in [0, 3]", []),
    ("phq9_down not in [0]", []),
    ("mood == 42", []),
    ("smoker == 1 or not answered(smoker)", []),
    ("contains(sources, 9)", []),
    ("days > 0 and days <= 28", []),
    ("pain >= 2.5", []),
    ("count > 1000", []),
    ("days < phq9_down", []),
    ('visit >= "2024-01-31"', []),
    ('note == "yes" or note != "no"', []),
    ('note in ["a", "b"]', []),
    ("true", []),
    ("false or days > 1", []),
    ("phq9_foo == 1", ["unknown item 'phq9_foo'"]),
    ("answered(ghost)", ["unknown item 'ghost'"]),
    ("contains(ghost, 1)", ["unknown item 'ghost'"]),
    ("ghost in [1]", ["unknown item 'ghost'"]),
    ("ghost == days", ["unknown item 'ghost'"]),
    ("ghost == 1 and ghost == 2", ["unknown item 'ghost'"]),
    ("phq9_down == 7", ["'phq9_down' has no answer code 7"]),
    ("7 == phq9_down", ["'phq9_down' has no answer code 7"]),
    ("phq9_down >= 4", ["'phq9_down' has no answer code 4"]),
    ("phq9_down in [1, 7, -1]", ["'phq9_down' has no answer code 7", "'phq9_down' has no answer code -1"]),
    ("phq9_down == 1.5", ["'phq9_down' has whole-number answer codes, not 1.5"]),
    ('phq9_down == "1"', ["'phq9_down' is a choice item and cannot be compared with the string \"1\""]),
    (
        "smoker == true",
        ["'smoker' is compared with true; answers are never true or false (yes/no is 1 or 0)"],
    ),
    ("days > 30", ["'days' is compared with 30, outside its range 0 to 28"]),
    ("days == -1", ["'days' is compared with -1, outside its range 0 to 28"]),
    ("days in [1, 29]", ["'days' is compared with 29, outside its range 0 to 28"]),
    ("pain < 0.25", ["'pain' is compared with 0.25, outside its range 0.5 to 10"]),
    ("count < -1", ["'count' is compared with -1, outside its range 0 to"]),
    ('days == "5"', ["'days' is a number item and cannot be compared with the string \"5\""]),
    ("contains(phq9_down, 1)", ["contains() needs a multiple-choice item; 'phq9_down' is a choice item"]),
    ("contains(days, 1)", ["contains() needs a multiple-choice item; 'days' is a number item"]),
    ("contains(sources, 7)", ["'sources' has no answer code 7"]),
    ('contains(sources, "a")', ["'sources' is a multi item and cannot be compared with the string \"a\""]),
    ("contains(sources, 1.5)", ["'sources' has whole-number answer codes, not 1.5"]),
    ("sources == 1", ["'sources' is a multiple-choice item: use contains(sources, code) instead of '=='"]),
    ("sources >= 1", ["'sources' is a multiple-choice item: use contains(sources, code) instead of '>='"]),
    ("sources in [1]", ["'sources' is a multiple-choice item: use contains(sources, code) instead of 'in'"]),
    ("sources == days", ["multiple-choice items cannot be compared with '==': use contains()"]),
    ("days < visit", ["'days' (number) cannot be compared with 'visit' (date)"]),
    ("note == smoker", ["'note' (text) cannot be compared with 'smoker' (choice)"]),
    ("note < note", ["text items can only be compared with == or !=, not '<'"]),
    ("note == 3", ["'note' is a text item and cannot be compared with the number 3"]),
    ('note < "m"', ["'note' is a text item: compare it with == or !=, not '<'"]),
    ("visit > 3", ["'visit' is a date item: compare it with a date like \"2024-01-31\""]),
    ('visit > "2024-13-01"', ["'visit' is a date item: compare it with a date like \"2024-01-31\""]),
    ('visit > "20240101"', ["'visit' is a date item: compare it with a date like \"2024-01-31\""]),
    ("days in []", ["'in' needs at least one value in its list"]),
    ("days not in []", ["'not in' needs at least one value in its list"]),
    ("1 in [1]", ["'in' needs an item on its left, not the value 1"]),
    ("(days > 1) in [true]", ["'in' needs an item on its left, not a condition"]),
    (
        "(days > 99) in [true]",
        [
            "'in' needs an item on its left, not a condition",
            "'days' is compared with 99, outside its range 0 to 28",
        ],
    ),
    ("(ghost > 1) == days", ["'==' compares an item with a value, not a condition", "unknown item 'ghost'"]),
    (
        "true == (phq9_down == 5)",
        ["'==' compares an item with a value, not a condition", "'phq9_down' has no answer code 5"],
    ),
    ("1 == 1", ["1 == 1 compares two values; name an item"]),
    ('"a" != true', ['"a" != true compares two values; name an item']),
    ("(days > 1) == true", ["'==' compares an item with a value, not a condition"]),
    ("days", ["a rule must be a condition, not the item 'days'"]),
    ("ghost", ["a rule must be a condition, not the item 'ghost'", "unknown item 'ghost'"]),
    ("3", ["a rule must be a condition, not the value 3"]),
    ('"yes"', ['a rule must be a condition, not the value "yes"']),
    ("days and smoker == 1", ["'and' needs conditions, not the item 'days'"]),
    ("smoker == 1 or 2", ["'or' needs conditions, not the value 2"]),
    ("not days", ["'not' needs conditions, not the item 'days'"]),
    (
        "ghost == 1 or phq9_down == 7 or contains(days, 1) or sources == 2 or note > 1",
        [
            "unknown item 'ghost'",
            "'phq9_down' has no answer code 7",
            "contains() needs a multiple-choice item; 'days' is a number item",
            "'sources' is a multiple-choice item: use contains(sources, code) instead of '=='",
            "'note' is a text item and cannot be compared with the number 1",
        ],
    ),
]


@pytest.mark.parametrize(("text", "problems"), CHECK_CASES)
def test_check(text: str, problems: list[str]) -> None:
    expr = parse(text)
    assert check(expr, ITEMS) == problems
    assert check(from_json(to_json(expr)), ITEMS) == problems


def test_check_accepts_any_mapping() -> None:
    assert check(parse("days > 1"), MappingProxyType(ITEMS)) == []
    assert check(parse("days > 1"), {}) == ["unknown item 'days'"]


def test_item_signature() -> None:
    assert ItemSignature("number", minimum=0, maximum=28).maximum == 28
    with pytest.raises(ValueError, match="unknown item kind 'likert'"):
        ItemSignature("likert")  # type: ignore[arg-type]


# --- JSON ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("x", {"item": "x"}),
        ("1.5", {"value": 1.5}),
        ("x == 1", {"op": "==", "args": [{"item": "x"}, {"value": 1}]}),
        ('"a" <= x', {"op": "<=", "args": [{"value": "a"}, {"item": "x"}]}),
        ("answered(x)", {"op": "answered", "item": "x"}),
        ("contains(x, 2)", {"op": "contains", "item": "x", "value": 2}),
        ("x in [1, true]", {"op": "in", "args": [{"item": "x"}], "values": [1, True]}),
        ("x not in [1]", {"op": "not in", "args": [{"item": "x"}], "values": [1]}),
        ("not answered(x)", {"op": "not", "args": [{"op": "answered", "item": "x"}]}),
        (
            "answered(x) and answered(y) or false",
            {
                "op": "or",
                "args": [
                    {"op": "and", "args": [{"op": "answered", "item": "x"}, {"op": "answered", "item": "y"}]},
                    {"value": False},
                ],
            },
        ),
    ],
)
def test_json_shape(text: str, data: dict[str, object]) -> None:
    assert to_json(parse(text)) == data
    assert from_json(data) == parse(text)


ROUND_TRIP_TEXTS = sorted(
    {text for text, _ in PARSE_CASES}
    | {text for text, _, _ in EVAL_CASES}
    | {text for text, _ in CHECK_CASES}
)


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_json_round_trip(text: str) -> None:
    expr = parse(text)
    dumped = json.dumps(to_json(expr), allow_nan=False)
    again = from_json(json.loads(dumped))
    assert again == expr
    assert repr(again) == repr(expr)
    assert json.dumps(to_json(again), allow_nan=False) == dumped


def _nested_not(levels: int) -> dict[str, object]:
    data: dict[str, object] = {"op": "answered", "item": "x"}
    for _ in range(levels):
        data = {"op": "not", "args": [data]}
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object, not list"),
        ("x == 1", "expected a JSON object, not str"),
        ({}, "not a rule node: op None, keys []"),
        ({"item": "X"}, "not an item id: 'X'"),
        ({"item": "and"}, "not an item id: 'and'"),
        ({"item": ""}, "not an item id: ''"),
        ({"item": 1}, "not an item id: 1"),
        ({"item": ["x"]}, "not an item id: a list"),
        ({"item": "x", "value": 1}, "not a rule node: op None, keys ['item', 'value']"),
        ({"value": [1]}, "not a number, string or boolean: a list"),
        ({"value": None}, "not a number, string or boolean: None"),
        ({"value": float("nan")}, "not a number, string or boolean: nan"),
        ({"value": float("-inf")}, "not a number, string or boolean: -inf"),
        ({"value": 10**15}, "not a number, string or boolean: 1000000000000000"),
        ({"value": 10**5000}, "not a number, string or boolean: a int"),
        ({"op": None, "item": "x"}, "not a rule node: op None, keys ['item', 'op']"),
        ({"op": "answered", "item": "x y"}, "not an item id: 'x y'"),
        ({"op": "contains", "item": "x"}, "not a rule node: op 'contains', keys ['item', 'op']"),
        ({"op": "contains", "item": "x", "value": {}}, "not a number, string or boolean: a dict"),
        ({"op": "xor", "args": []}, "not a rule node: op 'xor', keys ['args', 'op']"),
        ({"op": ["=="], "args": []}, "not a rule node: op a list, keys ['args', 'op']"),
        ({"op": {}, "args": []}, "not a rule node: op a dict, keys ['args', 'op']"),
        ({"op": "and", "args": [{"value": True}]}, "not a rule node: op 'and', keys ['args', 'op']"),
        ({"op": "not", "args": []}, "not a rule node: op 'not', keys ['args', 'op']"),
        ({"op": "==", "args": [{"item": "x"}]}, "not a rule node: op '==', keys ['args', 'op']"),
        ({"op": "==", "args": {"item": "x"}}, "not a rule node: op '==', keys ['args', 'op']"),
        ({"op": "==", "args": [{"item": "x"}, 1]}, "expected a JSON object, not int"),
        ({"op": "in", "args": [{"item": "x"}]}, "not a rule node: op 'in', keys ['args', 'op']"),
        ({"op": "in", "args": [{"item": "x"}], "values": [[1]]}, "not a number, string or boolean: a list"),
        (
            {"op": "in", "args": [{"item": "x"}], "values": 1},
            "not a rule node: op 'in', keys ['args', 'op', 'values']",
        ),
        ({"op": "==", "args": [{"item": "x"}, {"value": 1}], "values": []}, "not a rule node: op '==', keys"),
        ({"op": "in", "args": [{"item": "x"}], "values": list(range(101))}, "not a rule node: op 'in'"),
        (
            {"op": "contains", "item": "x", "junk": _nested_not(10_000)},
            "not a rule node: op 'contains', keys",
        ),
        (_nested_not(10_000), "the JSON rule is nested more than 128 levels deep"),
    ],
)
def test_from_json_rejects_bad_shapes(data: object, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        from_json(data)
    assert str(caught.value).startswith(message)


def test_from_json_accepts_the_deepest_parsed_rule() -> None:
    text = "(" * MAX_DEPTH + "x == 1 or y == 2 and z == 3" + ")" * MAX_DEPTH
    assert from_json(to_json(parse(text))) == parse(text)
    assert from_json(_nested_not(128)) is not None


# --- random input -------------------------------------------------------------------------------------

FRAGMENTS = [
    *["x", "y", "phq9_down", "and", "or", "not", "in", "true", "false", "answered", "contains"],
    *["(", ")", "[", "]", ",", "==", "!=", "<", "<=", ">", ">=", "=", "!", "-", "."],
    *["0", "1", "-2", "3.5", '"a"', '"\\""', '"', "\\", " ", " ", " ", "X", "é", "\x00", "\n"],
]
ANSWERS: list[dict[str, object]] = [{}, {"x": 1, "y": [1, 2]}, {"x": "a", "phq9_down": 3.5, "y": None}]


def _exercise(text: str) -> None:
    """parse() either raises ExpressionError or gives a tree that all the other functions accept."""
    try:
        expr = parse(text)
    except ExpressionError:
        return
    assert from_json(json.loads(json.dumps(to_json(expr), allow_nan=False))) == expr
    assert all(name in text for name in referenced_items(expr))
    assert all(isinstance(p, str) for p in check(expr, ITEMS))
    for answers in ANSWERS:
        try:
            assert evaluate(expr, answers) in (True, False)
        except ExpressionError as error:
            assert str(error).startswith("a rule must be a condition")


def test_fuzz_token_soup_with_a_fixed_seed() -> None:
    rng = random.Random(20240131)
    parsed = 0
    for _ in range(5_000):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 25)))
        _exercise(text)
        parsed += _parses(text)
    assert parsed > 100  # the soup is not all syntax errors


def test_fuzz_printable_noise_with_a_fixed_seed() -> None:
    rng = random.Random(7)
    alphabet = "ax_1 ()[],\"\\=!<>-.'&|$é\t"
    for _ in range(5_000):
        _exercise("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))


def _parses(text: str) -> bool:
    try:
        parse(text)
    except ExpressionError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parse_raises_only_expression_error_on_any_text(text: str) -> None:
    _exercise(text)


JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["op", "args", "item", "value", "values", "x"]), inner, max_size=4)
        | st.fixed_dictionaries(
            {"op": st.sampled_from(["and", "or", "not", "==", "<", "in", "not in", "answered", "contains"])},
            optional={
                "args": st.lists(inner, max_size=3),
                "item": st.sampled_from(["x", "in", "X"]),
                "value": inner,
                "values": st.lists(inner, max_size=3),
            },
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_DATA)
def test_from_json_raises_only_expression_error_on_any_data(data: object) -> None:
    try:
        expr = from_json(data)
    except ExpressionError:
        return
    assert from_json(to_json(expr)) == expr


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(" ".join))
def test_parse_raises_only_expression_error_on_token_soup(text: str) -> None:
    _exercise(text)
