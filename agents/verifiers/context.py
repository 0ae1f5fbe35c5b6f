"""What a verifier sees: the encounter record, its analysed notes, and evidence-check counters."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from agents.lexical.document import Document, analyse
from agents.lexical.normalize import fold_for_matching
from fhir_ops.data_access.record import EncounterRecord, Note

if TYPE_CHECKING:
    from agents.verifiers.base import FactVerdict
    from measures.catalog.schema import IndicatorSpec


@dataclass(slots=True)
class EvidenceStats:
    """Quotes returned by verifiers and how many were discarded as not found in the note."""

    quotes_checked: int = 0
    quotes_discarded: int = 0
    verdicts_voided: int = 0


@dataclass(slots=True)
class VerificationContext:
    """Per-record context; :meth:`for_indicator` gives a view for one indicator sharing the caches."""

    record: EncounterRecord
    indicator: IndicatorSpec | None = None
    stats: EvidenceStats = field(default_factory=EvidenceStats)
    _documents: dict[str, Document] = field(default_factory=dict)
    verdict_cache: dict[str, FactVerdict] = field(default_factory=dict)

    @property
    def notes(self) -> list[Note]:
        return self.record.notes

    def note(self, reference: str | None) -> Note | None:
        return next((n for n in self.record.notes if n.reference == reference), None)

    def document(self, note: Note) -> Document:
        doc = self._documents.get(note.reference)
        if doc is None:
            # matched on width-folded text (same length, so offsets and quotes map back to the note)
            doc = self._documents[note.reference] = analyse(fold_for_matching(note.text))
        return doc

    def for_indicator(self, indicator: IndicatorSpec) -> VerificationContext:
        return replace(self, indicator=indicator)
