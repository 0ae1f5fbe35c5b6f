"""Measure scores per the Quality Measure IG: proportion, ratio, continuous variable (aggregate methods).

A score is ``None`` when it is undefined (a zero divisor, no observations).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

#: ``cqfm-aggregateMethod`` codes (http://terminology.hl7.org/CodeSystem/measure-aggregate-method).
AGGREGATE_METHODS = frozenset({"sum", "average", "median", "minimum", "maximum", "count"})


def proportion_score(counts: Mapping[str, int]) -> float | None:
    """Score from population counts keyed by measure-population code.

    >>> proportion_score({"initial-population": 7, "denominator": 6, "denominator-exclusion": 1,
    ...                   "numerator": 3, "numerator-exclusion": 1, "denominator-exception": 1})
    0.5
    >>> proportion_score({"denominator": 2, "denominator-exclusion": 2, "numerator": 0}) is None
    True
    """
    divisor = (
        counts.get("denominator", 0)
        - counts.get("denominator-exclusion", 0)
        - counts.get("denominator-exception", 0)
    )
    if divisor <= 0:
        return None
    return (counts.get("numerator", 0) - counts.get("numerator-exclusion", 0)) / divisor


def ratio_score(
    counts: Mapping[str, int], *, numerator_value: float | None = None, denominator_value: float | None = None
) -> float | None:
    """(Num − NumEx) / (Den − DenEx), or the ratio of the numerator and denominator observation
    aggregates when the measure defines observations for both.

    >>> ratio_score({"denominator": 4, "denominator-exclusion": 1, "numerator": 2, "numerator-exclusion": 1})
    0.3333333333333333
    >>> ratio_score({}, numerator_value=3.0, denominator_value=12.0)
    0.25
    """
    if numerator_value is not None or denominator_value is not None:
        if not denominator_value:
            return None
        return (numerator_value or 0.0) / denominator_value
    divisor = counts.get("denominator", 0) - counts.get("denominator-exclusion", 0)
    if divisor <= 0:
        return None
    return (counts.get("numerator", 0) - counts.get("numerator-exclusion", 0)) / divisor


def aggregate(method: str, observations: Sequence[float]) -> float | None:
    """Aggregate observations by a ``measure-aggregate-method`` code (case-insensitive).

    >>> aggregate("Sum", [1, 2, 3]), aggregate("average", [1, 2]), aggregate("median", [5, 1, 3])
    (6.0, 1.5, 3.0)
    >>> aggregate("count", []), aggregate("maximum", []) is None
    (0.0, True)
    """
    code = method.lower()
    if code not in AGGREGATE_METHODS:
        raise ValueError(f"unknown aggregate method '{method}'")
    if code == "count":
        return float(len(observations))
    if not observations:
        return None
    values = [float(v) for v in observations]
    match code:
        case "sum":
            return float(sum(values))
        case "average":
            return float(statistics.fmean(values))
        case "median":
            return float(statistics.median(values))
        case "minimum":
            return min(values)
        case _:
            return max(values)
