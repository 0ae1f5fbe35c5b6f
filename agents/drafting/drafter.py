"""Extractive discharge-summary drafting: every sentence is a verbatim quote of the record or a rendering
of coded data, with its evidence; a quote that cannot be found again in its note is dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.drafting.sections import Section, Span, record_sections, sentences
from agents.drafting.templates import NoteTemplate, TemplateSection, template_for
from agents.icd.suggest import Suggestion
from agents.lexical.normalize import find_verbatim
from fhir_ops.data_access.record import EncounterRecord

DRAFTER_VERSION = "extractive-1"


@dataclass(frozen=True, slots=True)
class DraftSentence:
    text: str
    evidence: Span
    #: True when the sentence renders coded data (no quote to check).
    rendered: bool = False


@dataclass(slots=True)
class DraftSection:
    name: str
    required: bool
    sentences: list[DraftSentence] = field(default_factory=list)


@dataclass(slots=True)
class Draft:
    template: NoteTemplate
    sections: list[DraftSection]
    unverified: int = 0

    @property
    def complete(self) -> bool:
        return all(s.sentences for s in self.sections if s.required)

    @property
    def missing(self) -> list[str]:
        return [s.name for s in self.sections if s.required and not s.sentences]

    def sentences(self) -> list[DraftSentence]:
        return [x for s in self.sections for x in s.sentences]

    def text(self) -> str:
        """The plain text of the draft: the title, then one heading per section."""
        lines = [self.template.title, ""]
        for section in self.sections:
            body = "".join(s.text for s in section.sentences) if section.name != "出院诊断" else ""
            if section.name == "出院诊断":
                body = " ".join(f"{i}.{s.text}" for i, s in enumerate(section.sentences, 1))
            lines.append(f"【{section.name}】{body or '（未记录）'}")
        return "\n".join(lines) + "\n"


def department_of(record: EncounterRecord, sections: dict[str, Section]) -> str | None:
    service = ((record.encounter or {}).get("serviceType") or {}).get("text")
    if service:
        return str(service)
    return sections["科室"].text if "科室" in sections else None


def _date(record: EncounterRecord, which: str) -> DraftSentence | None:
    period = (record.encounter or {}).get("period") or {}
    value = period.get(which)
    if not value or record.encounter is None:
        return None
    reference = f"Encounter/{record.encounter.get('id')}"
    return DraftSentence(str(value)[:10], Span(reference, 0, 0, ""), rendered=True)


def _select(spans: list[Span], spec: TemplateSection) -> list[Span]:
    if len(spans) <= spec.max_sentences:
        return spans
    focused = [s for s in spans if any(f in s.text for f in spec.focus)]
    keep = set(map(id, (focused + [s for s in spans if s not in focused])[: spec.max_sentences]))
    return [s for s in spans if id(s) in keep]


def _fill(
    spec: TemplateSection, record: EncounterRecord, sections: dict[str, Section], icd: list[Suggestion]
) -> list[DraftSentence]:
    if spec.encounter_date and (rendered := _date(record, spec.encounter_date)) is not None:
        return [rendered]
    for name in spec.fields:
        if name in sections:
            return [DraftSentence(s.text, s) for s in _select(sentences(sections[name]), spec)]
    if spec.diagnoses:
        chosen = [s for s in icd if s.rank == 1 and s.role == "primary"] + [
            s for s in icd if s.role == "secondary"
        ]
        out: list[DraftSentence] = []
        for suggestion in chosen:
            if suggestion.source == "implied":
                continue  # a code the coding rules derive from an event, not a diagnosis the record states
            quote = suggestion.evidence[-1]
            if quote.reference.startswith("Condition/"):
                out.append(DraftSentence(f"{suggestion.entry.name}", quote, rendered=True))
            elif quote.text and all(quote.text != o.text for o in out):
                out.append(DraftSentence(quote.text, quote))
        return out
    return []


def verified(sentence: DraftSentence, notes: dict[str, str]) -> bool:
    """A rendering is checked by its source; a quote must be found verbatim where its evidence says."""
    if sentence.rendered:
        return True
    text = notes.get(sentence.evidence.reference)
    if text is None or sentence.text != sentence.evidence.text:
        return False
    found = find_verbatim(text, sentence.text, hint=sentence.evidence.start)
    return found == (sentence.evidence.start, sentence.evidence.end)


def draft_summary(
    record: EncounterRecord, icd: list[Suggestion], template: NoteTemplate | None = None
) -> Draft:
    sections = record_sections(record)
    template = template or template_for(department_of(record, sections))
    notes = {n.reference: n.text for n in record.notes}
    draft = Draft(template, [])
    for spec in template.sections:
        filled = _fill(spec, record, sections, icd)
        kept = [s for s in filled if verified(s, notes)]
        draft.unverified += len(filled) - len(kept)
        draft.sections.append(DraftSection(spec.name, spec.required, kept))
    return draft
