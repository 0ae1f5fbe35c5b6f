"""The indicator rule language: a safe parser and a three-valued (Kleene) evaluator. No ``eval()``.

Grammar (precedence low → high)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
             | sum ["not"] "in" "[" literal ("," literal)* "]"
    sum     := atom ("+" atom)*
    atom    := IDENT | NUMBER | STRING | "true" | "false" | "unknown" | "(" expr ")"
             | "known" "(" IDENT ")" | "default" "(" expr "," ("true" | "false") ")"
             | "count" "(" expr ("," expr)* ")"

``IDENT`` is a fact id (``[a-z_][a-z0-9_]*``); strings are double-quoted. Any comparison with an unknown
operand is unknown; ``and``/``or``/``not`` follow Kleene logic. ``known(x)`` and ``default(e, v)`` turn
unknown into a definite value and mark the result as *assumed* (the report then asks for review).

``count(a, b, c)`` is the number of its conditions that are true; ``+`` adds numbers. Both are evaluated
as intervals, so ``count(a, b, c) >= 2`` is true when two conditions are already true, false when even
all unknown ones being true would not reach 2, and unknown otherwise. A sum with an unknown number is
unknown.

>>> evaluate(parse("a or b"), {"a": None, "b": True}).value
True
>>> evaluate(parse("nihss <= 3 and aspirin"), {"nihss": 2.0, "aspirin": None}).value is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Value = bool | float | str | None
Tri = bool | None
FactType = Literal["boolean", "number", "datetime", "category"]


class RuleSyntaxError(ValueError):
    """The rule text does not parse; carries the character position."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position


# --- AST ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    value: Value


@dataclass(frozen=True, slots=True)
class Ref:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class InList:
    operand: Node
    options: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Known:
    name: str


@dataclass(frozen=True, slots=True)
class Default:
    operand: Node
    fallback: bool


@dataclass(frozen=True, slots=True)
class Count:
    """``count(c1, c2, ...)``: how many of the conditions are true."""

    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Add:
    """``a + b + ...`` on numbers."""

    operands: tuple[Node, ...]


Node = Lit | Ref | Not | BoolOp | Compare | InList | Known | Default | Count | Add

# --- tokenizer ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?)
      | (?P<str>"[^"]*")
      | (?P<op><=|>=|==|!=|<|>)
      | (?P<punct>[()\[\],+])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "unknown", "known", "default"}


@dataclass(slots=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RuleSyntaxError(f"unexpected character {text[pos:].lstrip()[:1]!r}", pos)
        group = m.lastgroup or ""
        value = m.group(group)
        kind = "kw" if group == "ident" and value in _KEYWORDS else group
        toks.append(_Tok(kind, value, m.start(group)))
        pos = m.end()
    toks.append(_Tok("eof", "", len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok.kind != kind or (text is not None and tok.text != text):
            want = text or kind
            raise RuleSyntaxError(f"expected {want!r}, found {tok.text or 'end'!r}", tok.pos)
        self.i += 1
        return tok

    def accept(self, kind: str, text: str) -> bool:
        tok = self.peek()
        if tok.kind == kind and tok.text == text:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_()
        self.take("eof")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.accept("kw", "or"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.accept("kw", "and"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_(self) -> Node:
        if self.peek().kind == "kw" and self.peek().text == "not" and self.toks[self.i + 1].text != "in":
            self.i += 1
            return Not(self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        left = self.sum()
        tok = self.peek()
        if tok.kind == "op":
            self.i += 1
            return Compare(tok.text, left, self.sum())  # type: ignore[arg-type]
        negated = self.accept("kw", "not")
        if negated or (tok.kind == "kw" and tok.text == "in"):
            self.take("kw", "in")
            return InList(left, self.literal_list(), negated)
        return left

    def sum(self) -> Node:
        parts = [self.atom()]
        while self.accept("punct", "+"):
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else Add(tuple(parts))

    def literal_list(self) -> tuple[Value, ...]:
        self.take("punct", "[")
        items = [self.literal()]
        while self.accept("punct", ","):
            items.append(self.literal())
        self.take("punct", "]")
        return tuple(items)

    def literal(self) -> Value:
        tok = self.peek()
        self.i += 1
        if tok.kind == "num":
            return float(tok.text)
        if tok.kind == "str":
            return tok.text[1:-1]
        if tok.kind == "kw" and tok.text in {"true", "false"}:
            return tok.text == "true"
        raise RuleSyntaxError(f"expected a literal, found {tok.text!r}", tok.pos)

    def atom(self) -> Node:
        tok = self.peek()
        if tok.kind in {"num", "str"} or (tok.kind == "kw" and tok.text in {"true", "false"}):
            return Lit(self.literal())
        if tok.kind == "kw" and tok.text == "unknown":
            self.i += 1
            return Lit(None)
        if tok.kind == "ident" and tok.text == "count" and self.toks[self.i + 1].text == "(":
            self.i += 2  # count(...) is a function; a fact may still be called "count"
            items = [self.or_()]
            while self.accept("punct", ","):
                items.append(self.or_())
            self.take("punct", ")")
            return Count(tuple(items))
        if tok.kind == "ident":
            self.i += 1
            return Ref(tok.text)
        if self.accept("punct", "("):
            node = self.or_()
            self.take("punct", ")")
            return node
        if self.accept("kw", "known"):
            self.take("punct", "(")
            name = self.take("ident").text
            self.take("punct", ")")
            return Known(name)
        if self.accept("kw", "default"):
            self.take("punct", "(")
            inner = self.or_()
            self.take("punct", ",")
            fallback = self.literal()
            if not isinstance(fallback, bool):
                raise RuleSyntaxError("default() needs true or false", tok.pos)
            self.take("punct", ")")
            return Default(inner, fallback)
        raise RuleSyntaxError(f"unexpected {tok.text or 'end'!r}", tok.pos)


def parse(text: str) -> Node:
    """Parse a rule; raises :class:`RuleSyntaxError`."""
    return _Parser(text).parse()


def references(node: Node) -> set[str]:
    """Fact ids a rule reads."""
    match node:
        case Ref(name) | Known(name):
            return {name}
        case Not(inner) | Default(inner, _) | InList(inner, _, _):
            return references(inner)
        case BoolOp(_, parts) | Count(parts) | Add(parts):
            return set().union(*(references(p) for p in parts))
        case Compare(_, left, right):
            return references(left) | references(right)
    return set()


def check(node: Node, types: dict[str, FactType], allowed: dict[str, list[str]] | None = None) -> list[str]:
    """Static checks against fact types: unknown ids, booleans used as numbers, unknown category values."""
    allowed = allowed or {}
    errors: list[str] = [f"unknown fact {name!r}" for name in sorted(references(node) - types.keys())]

    def kind(n: Node) -> str:
        if isinstance(n, Ref):
            return types.get(n.name, "boolean")
        if isinstance(n, Lit):
            return {bool: "boolean", float: "number", str: "category"}.get(type(n.value), "any")
        if isinstance(n, Count | Add):
            return "number"
        return "boolean"

    def walk(n: Node, want_bool: bool) -> None:
        match n:
            case Ref(name) if want_bool and types.get(name, "boolean") != "boolean":
                errors.append(f"{name!r} is a {types[name]} fact used as a condition")
            case Not(inner) | Default(inner, _):
                walk(inner, True)
            case BoolOp(_, parts) | Count(parts):
                for p in parts:
                    walk(p, True)
            case Add(parts):
                for p in parts:
                    if kind(p) not in {"number", "any"}:
                        errors.append(f"'+' on a {kind(p)} operand")
                    walk(p, False)
            case Compare(op, left, right):
                kinds = {kind(left), kind(right)}
                if op in {"<", "<=", ">", ">="} and not kinds <= {"number", "datetime"}:
                    errors.append(f"ordering comparison on {sorted(kinds)}")
                for side in (left, right):
                    if isinstance(side, Count | Add):
                        walk(side, False)
                for side, other in ((left, right), (right, left)):
                    if isinstance(side, Ref) and isinstance(other, Lit) and side.name in allowed:
                        if other.value not in allowed[side.name]:
                            errors.append(f"{other.value!r} is not a value of {side.name!r}")
            case InList(Ref(name), options, _) if name in allowed:
                errors.extend(f"{o!r} is not a value of {name!r}" for o in options if o not in allowed[name])
            case _:
                pass

    walk(node, True)
    return errors


# --- evaluation --------------------------------------------------------------------------------------


@dataclass(slots=True)
class RuleResult:
    """The rule's value (None = unknown), whether an unknown was assumed away, and the unknown facts."""

    value: Tri
    assumed: bool = False
    unknown_facts: set[str] = field(default_factory=set)


def _truth(v: Value) -> Tri:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, float | int):
        return v != 0
    return bool(v)


def _compare(op: str, a: Value, b: Value) -> Tri:
    if a is None or b is None:
        return None
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if isinstance(a, bool | str) or isinstance(b, bool | str):
        if isinstance(a, str) and isinstance(b, str):  # ISO datetimes compare as strings
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return None
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


Interval = tuple[float, float]
_ANY: Interval = (float("-inf"), float("inf"))


def _compare_intervals(op: str, a: Interval, b: Interval) -> Tri:
    """``a op b`` for every value in the intervals: True/False when all agree, else unknown."""
    if op in {"==", "!="}:
        if a[0] == a[1] == b[0] == b[1]:
            return (a[0] == b[0]) == (op == "==")
        if a[1] < b[0] or b[1] < a[0]:
            return op == "!="
        return None
    if op in {">", ">="}:
        a, b, op = b, a, {">": "<", ">=": "<="}[op]
    strict = op == "<"
    if a[1] < b[0] or (not strict and a[1] <= b[0]):
        return True
    if a[0] > b[1] or (strict and a[0] >= b[1]):
        return False
    return None


def evaluate(node: Node, facts: dict[str, Value]) -> RuleResult:
    """Evaluate with Kleene three-valued logic; a missing fact is unknown."""
    result = RuleResult(value=None)

    def val(n: Node) -> Value:
        match n:
            case Lit(v):
                return v
            case Ref(name):
                v = facts.get(name)
                if v is None:
                    result.unknown_facts.add(name)
                return v
            case Count() | Add():
                lo, hi = interval(n)
                return lo if lo == hi else None
            case _:
                return tri(n)

    def interval(n: Node) -> Interval:
        """Range of a numeric node's value given the unknown facts (exact when known)."""
        match n:
            case Count(parts):
                vals = [tri(p) for p in parts]
                true = float(vals.count(True))
                return true, true + vals.count(None)
            case Add(parts):
                ranges = [interval(p) for p in parts]
                return sum(r[0] for r in ranges), sum(r[1] for r in ranges)
        v = val(n)
        if isinstance(v, bool) or not isinstance(v, float | int):
            return _ANY
        return float(v), float(v)

    def tri(n: Node) -> Tri:
        match n:
            case Lit() | Ref():
                return _truth(val(n))
            case Not(inner):
                t = tri(inner)
                return None if t is None else not t
            case BoolOp("and", parts):
                vals = [tri(p) for p in parts]
                return False if False in vals else (None if None in vals else True)
            case BoolOp("or", parts):
                vals = [tri(p) for p in parts]
                return True if True in vals else (None if None in vals else False)
            case Compare(op, left, right) if isinstance(left, Count | Add) or isinstance(right, Count | Add):
                return _compare_intervals(op, interval(left), interval(right))
            case Compare(op, left, right):
                return _compare(op, val(left), val(right))
            case Count() | Add():
                lo, hi = interval(n)
                return True if lo > 0 else (False if hi == 0 else None)
            case InList(operand, options, negated):
                v = val(operand)
                if v is None:
                    return None
                return (v in options) != negated
            case Known(name):
                known = facts.get(name) is not None
                if not known:
                    result.unknown_facts.add(name)
                    result.assumed = True
                return known
            case Default(inner, fallback):
                t = tri(inner)
                if t is None:
                    result.assumed = True
                    return fallback
                return t
        raise TypeError(f"not a rule node: {n!r}")

    result.value = tri(node)
    return result
