"""Extractive discharge-summary drafting: every sentence is a verbatim quote of the record or a rendering
of coded data, with its evidence; a quote that cannot be found again in its note is dropped and counted.
A section may then be rewritten by the language model (:mod:`agents.drafting.abstractive`): its sentences
cite the verbatim sentences they rest on, and are verified against them (:mod:`agents.drafting.support`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agents.drafting.sections import Section, Span, record_sections, sentences
from agents.drafting.support import unsupported_claims
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
    #: A sentence the language model wrote: the verbatim record sentences it rests on (``evidence`` is
    #: the first); its claims must all be found in them.
    sources: tuple[Span, ...] = ()

    def spans(self) -> tuple[Span, ...]:
        """Every piece of evidence of the sentence."""
        return self.sources or (self.evidence,)


SectionMode = Literal["extractive", "abstractive"]


@dataclass(slots=True)
class DraftSection:
    name: str
    required: bool
    sentences: list[DraftSentence] = field(default_factory=list)
    #: what produced the section's sentences
    mode: SectionMode = "extractive"
    #: why a section meant for the model stayed extractive (deadline, model error, nothing supported)
    fallback: str | None = None
    #: the model's sentences dropped as unsupported
    dropped: int = 0


@dataclass(slots=True)
class Draft:
    template: NoteTemplate
    sections: list[DraftSection]
    #: sentences dropped because they could not be verified (quotes not found, unsupported rewrites)
    unverified: int = 0
    #: the model and prompt version of the abstractive sections (None: every section is extractive)
    model: str | None = None
    prompt: str | None = None

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


def _verbatim(span: Span, notes: dict[str, str]) -> bool:
    text = notes.get(span.reference)
    if text is None:
        return False
    return find_verbatim(text, span.text, hint=span.start) == (span.start, span.end)


def verified(sentence: DraftSentence, notes: dict[str, str]) -> bool:
    """A rendering is checked by its source; a quote must be found verbatim where its evidence says; a
    rewritten sentence's sources must be verbatim and support every claim of the sentence."""
    if sentence.rendered:
        return True
    if sentence.sources:
        return all(_verbatim(s, notes) for s in sentence.sources) and not unsupported_claims(
            sentence.text, [s.text for s in sentence.sources]
        )
    return sentence.text == sentence.evidence.text and _verbatim(sentence.evidence, notes)


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
