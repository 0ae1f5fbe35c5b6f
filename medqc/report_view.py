"""Reading MeasureReports for people: counts, rates, needs-review and one encounter's verdict.

Shared by ``medqc demo`` and ``medqc evaluate``. Labels are Chinese: they are read by a Chinese
quality-control department (logs and the API stay English).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["met", "not-met", "needs-review", "not-applicable"]

#: What the quality department reads for each verdict.
VERDICT_LABEL: dict[Verdict, str] = {
    "met": "符合",
    "not-met": "不符合",
    "needs-review": "待复核",
    "not-applicable": "不适用",
}
NEEDS_REVIEW_STRATIFIER = "needs-review"
EXT_NEEDS_REVIEW_SUFFIX = "/qc-needs-review"


@dataclass(frozen=True, slots=True)
class Rate:
    """A summary report's figures: numerator/denominator, and how many of the denominator's results
    rest on an unknown fact (the ``needs-review`` stratum: its denominator, and of those how many the
    numerator counts)."""

    numerator: int
    denominator: int
    needs_review: int = 0
    needs_review_met: int = 0

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def split(self) -> tuple[int, int, int]:
        """(met, not met, needs review): the denominator in three parts that add up to it.

        >>> Rate(numerator=3, denominator=5, needs_review=2, needs_review_met=1).split()
        (2, 1, 2)
        """
        met = self.numerator - self.needs_review_met
        return met, self.denominator - met - self.needs_review, self.needs_review

    def percent(self) -> str:
        """The rate as people read it.

        >>> Rate(1, 3).percent(), Rate(0, 0).percent()
        ('33.3%', '—')
        """
        rate = self.rate
        return "—" if rate is None else f"{rate * 100:.1f}%"


def _count(populations: list[dict[str, Any]], code: str) -> int:
    for pop in populations:
        if any(c.get("code") == code for c in (pop.get("code") or {}).get("coding") or []):
            return int(pop.get("count") or 0)
    return 0


def rate_of(report: dict[str, Any]) -> Rate:
    """The figures of a summary (or subject-list) report's first group."""
    group = (report.get("group") or [{}])[0]
    populations = group.get("population") or []
    review = review_met = 0
    for stratifier in group.get("stratifier") or []:
        if stratifier.get("id") != NEEDS_REVIEW_STRATIFIER:
            continue
        for stratum in stratifier.get("stratum") or []:
            if (stratum.get("value") or {}).get("text") == "true":
                review += _count(stratum.get("population") or [], "denominator")
                review_met += _count(stratum.get("population") or [], "numerator")
    return Rate(_count(populations, "numerator"), _count(populations, "denominator"), review, review_met)


def members(report: dict[str, Any]) -> dict[str, set[str]]:
    """A subject-list report's members per population code (``Encounter/<id>`` for an indicator)."""
    lists = {
        str(c.get("id")): {str(e["item"]["reference"]) for e in c.get("entry") or []}
        for c in report.get("contained") or []
        if c.get("resourceType") == "List"
    }
    out: dict[str, set[str]] = {}
    for pop in ((report.get("group") or [{}])[0]).get("population") or []:
        code = ((pop.get("code") or {}).get("coding") or [{}])[0].get("code")
        ref = str((pop.get("subjectResults") or {}).get("reference") or "").removeprefix("#")
        if code:
            out[str(code)] = lists.get(ref, set())
    return out


def population_verdict(report: dict[str, Any], encounter: str) -> Verdict:
    """One encounter's verdict in a subject-list report (met / not met; membership only)."""
    by_code = members(report)
    ref = f"Encounter/{encounter}"
    if ref in by_code.get("numerator", set()):
        return "met"
    if ref in by_code.get("denominator", set()):
        return "not-met"
    return "not-applicable"


def individual_verdict(report: dict[str, Any]) -> Verdict:
    """The verdict of an individual report of ``$qc-evaluate`` (as the CDS cards read it)."""
    group = (report.get("group") or [{}])[0]
    populations = group.get("population") or []
    if not _count(populations, "denominator"):
        return "not-applicable"
    if any(
        e.get("valueBoolean") is True and str(e.get("url", "")).endswith(EXT_NEEDS_REVIEW_SUFFIX)
        for e in group.get("extension") or []
    ):
        return "needs-review"
    return "met" if _count(populations, "numerator") else "not-met"
