"""Every catalog rule reads in words: 且/或/非, the facts' questions, "未记录视为否", no rule syntax left."""

from __future__ import annotations

import re

import pytest

from measures.catalog import indicator_specs
from medqc.workstation.rule_text import rule_in_words
from medqc.workstation.views import questions_of

SPECS = indicator_specs()
SYNTAX = re.compile(r"\b(and|or|not|default|known|count|true|false)\b|[a-z]+_[a-z_]+|==|!=|<=|>=")


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_catalog_rule_in_words(spec) -> None:  # type: ignore[no-untyped-def]
    words = rule_in_words(spec.rule, questions_of(spec))
    assert not SYNTAX.search(words), words
    for fact in spec.all_facts:
        if re.search(rf"\b{fact.id}\b", spec.rule):
            assert fact.question in words


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("a and not b", "A 且 非（B）"),
        ("a or b and c", "A 或 （B 且 C）"),
        ("default(a, false)", "A（未记录视为否）"),
        ("default(a, true) or known(b)", "A（未记录视为是） 或 B已记录"),
        ("n <= 3", "N 不超过 3"),
        ('grade in ["II", "III"]', "G为“II”、“III”之一"),
        ("count(a, b, c) >= 2", "以下 3 项中至少 2 项为是：A；B；C"),
        ("a +", "a +"),  # a rule that does not parse is shown as written
    ],
)
def test_rule_shapes(rule: str, expected: str) -> None:
    assert rule_in_words(rule, {"a": "A", "b": "B", "c": "C", "n": "N", "grade": "G"}) == expected
