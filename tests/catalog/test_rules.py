from __future__ import annotations

import pytest

from measures.catalog.rules import FactType, RuleSyntaxError, Value, check, evaluate, parse, references

T, F, U = True, False, None


@pytest.mark.parametrize(
    ("a", "b", "and_", "or_"),
    [(T, T, T, T), (T, F, F, T), (T, U, U, T), (F, U, F, U), (U, U, U, U), (F, F, F, F)],
)
def test_kleene_and_or(a: Value, b: Value, and_: Value, or_: Value) -> None:
    facts = {"a": a, "b": b}
    assert evaluate(parse("a and b"), facts).value is and_
    assert evaluate(parse("a or b"), facts).value is or_


@pytest.mark.parametrize(("value", "expected"), [(T, F), (F, T), (U, U)])
def test_not(value: Value, expected: Value) -> None:
    assert evaluate(parse("not a"), {"a": value}).value is expected


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        ("residual_stenosis < 20", {"residual_stenosis": 10.0}, T),
        ("residual_stenosis < 20", {"residual_stenosis": 30.0}, F),
        ("residual_stenosis < 20", {}, U),
        ("nihss <= 3", {"nihss": 3.0}, T),
        ("nihss <= 3", {"nihss": 4.0}, F),
        ('resection in ["全切除", "近全切除"]', {"resection": "近全切除"}, T),
        ('resection in ["全切除", "近全切除"]', {"resection": "部分切除"}, F),
        ('resection in ["全切除", "近全切除"]', {}, U),
        ('resection not in ["全切除"]', {"resection": "部分切除"}, T),
        ('kind == "PCI"', {"kind": "PCI"}, T),
        ("(a or b) and not c", {"a": U, "b": T, "c": F}, T),
        ("not a and b", {"a": F, "b": T}, T),
    ],
)
def test_comparisons(rule: str, facts: dict[str, Value], expected: Value) -> None:
    assert evaluate(parse(rule), facts).value is expected


def test_default_and_known_mark_assumed() -> None:
    r = evaluate(parse("a and default(h < 24, true)"), {"a": True})
    assert r.value is True
    assert r.assumed
    assert r.unknown_facts == {"h"}
    r = evaluate(parse("a and default(h < 24, true)"), {"a": True, "h": 30.0})
    assert r.value is False
    assert not r.assumed
    r = evaluate(parse("known(x)"), {})
    assert r.value is False
    assert r.assumed


@pytest.mark.parametrize("bad", ["a and", "a <", "(a", "a == ", "a in [b]", "default(a, 3)", "a $ b", "a b"])
def test_syntax_errors(bad: str) -> None:
    with pytest.raises(RuleSyntaxError):
        parse(bad)


def test_no_python_evaluation() -> None:
    with pytest.raises(RuleSyntaxError):
        parse("__import__('os').system('true')")


def test_references_and_check() -> None:
    node = parse('a and nihss <= 3 and kind in ["PCI"]')
    assert references(node) == {"a", "nihss", "kind"}
    types = {"a": "boolean", "nihss": "number", "kind": "category"}
    assert check(node, types, {"kind": ["PCI", "静脉溶栓"]}) == []  # type: ignore[arg-type]
    assert check(parse("nihss"), types) == ["'nihss' is a number fact used as a condition"]  # type: ignore[arg-type]
    assert check(parse('kind == "CABG"'), types, {"kind": ["PCI"]}) == [  # type: ignore[arg-type]
        "'CABG' is not a value of 'kind'"
    ]
    assert check(parse("zzz"), types) == ["unknown fact 'zzz'"]  # type: ignore[arg-type]


# --- count() and + --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"a": T, "b": T, "c": F}, T),
        ({"a": T, "b": T}, T),  # already 2 true: c cannot change it
        ({"a": T, "b": F}, U),  # depends on c
        ({"a": T, "b": F, "c": F}, F),
        ({"a": F, "b": F}, F),  # even c true gives 1
        ({}, U),
    ],
)
def test_count_is_three_valued(facts: dict[str, Value], expected: Value) -> None:
    result = evaluate(parse("count(a, b, c) >= 2"), facts)
    assert result.value is expected
    assert not result.assumed


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        ("count(a, b) == 0", {"a": F, "b": F}, T),
        ("count(a, b) == 0", {"a": F}, U),
        ("count(a, b) != 2", {"a": F}, T),
        ("count(a, x < 3, not c) > 1", {"a": F, "x": 2.0, "c": F}, T),
        ("2 <= count(a, b, c)", {"a": T, "b": T}, T),
        ("count(a, b)", {"a": T}, T),  # as a condition: at least one
        ("count(a, b)", {"a": F, "b": F}, F),
        ("count(a, b)", {"a": F}, U),
        ("count(a, b) + count(c) >= 3", {"a": T, "b": T, "c": T}, T),
        ("x + y >= 12", {"x": 4.0, "y": 8.0}, T),
        ("x + y >= 12", {"x": 4.0, "y": 7.0}, F),
        ("x + y >= 12", {"x": 4.0}, U),
        ("x + 2 == 6", {"x": 4.0}, T),
        ("x + y < 3 or a", {"a": T}, T),
    ],
)
def test_count_and_plus(rule: str, facts: dict[str, Value], expected: Value) -> None:
    assert evaluate(parse(rule), facts).value is expected


def test_count_references_and_checks() -> None:
    node = parse("count(a, b, x < 3) >= 2 and n + m > 10")
    assert references(node) == {"a", "b", "x", "n", "m"}
    types: dict[str, FactType] = {"a": "boolean", "b": "boolean", "x": "number", "n": "number", "m": "number"}
    assert check(node, types) == []
    assert check(parse("count(a, n) >= 1"), types) == ["'n' is a number fact used as a condition"]
    assert check(parse("a + n > 1"), types) == ["'+' on a boolean operand"]
    assert check(parse("count(a, zz) >= 1"), types) == ["unknown fact 'zz'"]


def test_count_is_still_a_valid_fact_name() -> None:
    assert evaluate(parse("count and count(a) >= 1"), {"count": True, "a": True}).value is True


@pytest.mark.parametrize("bad", ["count() >= 1", "count(a,) >= 1", "a + >= 1", "count(a b) >= 1"])
def test_count_plus_syntax_errors(bad: str) -> None:
    with pytest.raises(RuleSyntaxError):
        parse(bad)
