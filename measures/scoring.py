"""Proportion scoring (QM IG): (Num − NumEx) / (Den − DenEx − DenExcep), none when the divisor is 0."""

from __future__ import annotations

from collections.abc import Mapping


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
