"""An indicator's rule in words (Chinese), from the rule language's AST (:mod:`measures.catalog.rules`).

``且``/``或``/``非`` join the conditions, each fact is its question, ``default(x, false)`` reads
"（未记录视为否）", numbers and categories read as comparisons. The reviewer sees what the code evaluates,
not the rule's source text.

>>> questions = {"a": "是否评估A", "b": "是否评估B", "n": "NIHSS评分"}
>>> rule_in_words("default(a or b, false) and not n > 3", questions)
'（是否评估A 或 是否评估B）（未记录视为否） 且 非（NIHSS评分 大于 3）'
>>> rule_in_words("count(a, b) >= 1", questions)
'以下 2 项中至少 1 项为是：是否评估A；是否评估B'
"""

from __future__ import annotations

from measures.catalog import rules
from measures.catalog.rules import (
    Add,
    BoolOp,
    Compare,
    Count,
    Default,
    InList,
    Known,
    Lit,
    Node,
    Not,
    Ref,
)

_OPS = {"<": "小于", "<=": "不超过", ">": "大于", ">=": "不少于", "==": "等于", "!=": "不等于"}
_JOIN = {"and": " 且 ", "or": " 或 "}


def literal(value: rules.Value) -> str:
    """A literal of the rule language in words.

    >>> literal(True), literal(None), literal(3.0), literal(2.5), literal("阳性")
    ('是', '未记录', '3', '2.5', '“阳性”')
    """
    if value is None:
        return "未记录"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return f"“{value}”"


def rule_in_words(text: str, questions: dict[str, str]) -> str:
    """The rule ``text`` in Chinese; the source text itself when it does not parse."""
    try:
        node = rules.parse(text)
    except rules.RuleSyntaxError:
        return text
    return _words(node, questions)


def _words(node: Node, q: dict[str, str]) -> str:
    match node:
        case Lit(value):
            return literal(value)
        case Ref(name):
            return q.get(name, name)
        case Not(inner):
            return f"非（{_words(inner, q)}）"
        case BoolOp(op, parts):
            return _JOIN[op].join(_grouped(p, q) for p in parts)
        case Compare(op, Count(parts), Lit(value)) if op in {">=", ">"} and isinstance(value, float):
            least = int(value) + (1 if op == ">" else 0)
            items = "；".join(_words(p, q) for p in parts)
            return f"以下 {len(parts)} 项中至少 {least} 项为是：{items}"
        case Compare(op, left, right):
            return f"{_grouped(left, q)} {_OPS[op]} {_grouped(right, q)}"
        case InList(operand, options, negated):
            values = "、".join(literal(o) for o in options)
            return f"{_grouped(operand, q)}{'不' if negated else ''}为{values}之一"
        case Known(name):
            return f"{q.get(name, name)}已记录"
        case Default(inner, fallback):
            return f"{_grouped(inner, q)}（未记录视为{'是' if fallback else '否'}）"
        case Count(parts):
            return f"满足的项数（{'；'.join(_words(p, q) for p in parts)}）"
        case Add(parts):
            return " + ".join(_grouped(p, q) for p in parts)
    raise TypeError(f"not a rule node: {node!r}")


def _grouped(node: Node, q: dict[str, str]) -> str:
    """A sub-rule in parentheses where precedence would otherwise be ambiguous."""
    text = _words(node, q)
    return f"（{text}）" if isinstance(node, BoolOp | Compare | InList | Add) else text
