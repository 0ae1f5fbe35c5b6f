"""The judgement of one indicator for one encounter, and the rule oracle that computes it in Python.

Production judges with the indicator's CQL (:mod:`measures.catalog.evaluation`); :func:`judge_by_rule`
applies the same spec rule with :mod:`measures.catalog.rules` and is kept as the test oracle the CQL is
checked against (and for ``medqc eval``, which measures fact verification, not the engine).
"""

from __future__ import annotations

from dataclasses import dataclass

from measures.catalog import rules
from measures.catalog.schema import IndicatorSpec

FactValues = dict[str, rules.Value]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Population membership of one encounter for one indicator, and whether it needs review."""

    initial_population: int
    denominator: int
    numerator: int
    rule_result: bool | None
    needs_review: bool
    #: the reviewer's verdict Observation (``Observation/<id>``) that decided the stay, if one did
    reviewed: str | None = None


def judge_by_rule(
    spec: IndicatorSpec, values: FactValues, *, placed: bool, asserted: bool = False
) -> Outcome:
    """The spec's rule over fact values (unknown = None); ``placed``: the encounter is a case of the
    indicator's disease (its initial population); ``asserted``: the caller placed it in the denominator
    (the denominator rule is not applied)."""
    ip = int(placed or asserted)
    denominator = ip
    review = False
    if ip and spec.denominator.rule and not asserted:
        den = rules.evaluate(rules.parse(spec.denominator.rule), values)
        review = den.value is None or den.assumed
        denominator = int(den.value is not False)
    num = rules.evaluate(rules.parse(spec.rule), values)
    review = bool(denominator) and (review or num.value is None or num.assumed)
    met = bool(num.value)
    rule = num.value if denominator else None  # the numerator rule applies to the denominator only
    return Outcome(ip, denominator, int(bool(denominator) and met), rule, review)
