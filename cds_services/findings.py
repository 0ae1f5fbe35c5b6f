"""What the CDS service shows: indicator findings, and the evaluator seam that produces them.

:class:`IndicatorFinding` is the small typed intermediate between the QC evaluation (``$qc-evaluate``'s
Bundle of MeasureReports) and the cards; :mod:`cds_services.qc_adapter` converts one into the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from fhir_ops.data_access.record import EncounterRecord

IndicatorVerdict = Literal["met", "not-met", "needs-review", "pending"]
FactValue = bool | float | str | None


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """A resource reference (``Observation/1``) and/or a verbatim quote of a note."""

    reference: str | None = None
    quote: str | None = None


@dataclass(frozen=True, slots=True)
class FactFinding:
    fact_id: str
    question: str
    value: FactValue
    evidence: tuple[EvidenceItem, ...] = ()
    method: str | None = None

    @property
    def satisfied(self) -> bool | None:
        """True / False for a boolean verdict, None when unknown (or not boolean)."""
        return self.value if isinstance(self.value, bool) else None


@dataclass(frozen=True, slots=True)
class IndicatorFinding:
    key: str
    title: str
    verdict: IndicatorVerdict
    definition_url: str | None = None
    definition: str | None = None
    core: bool = False
    facts: tuple[FactFinding, ...] = field(default_factory=tuple)


class Evaluator(Protocol):
    """Judges the indicators that apply to an encounter record (``app.state.cds_evaluator``)."""

    async def __call__(self, record: EncounterRecord) -> list[IndicatorFinding]: ...
