"""Abstractive drafting: the language model rewrites chosen sections of an extractive draft.

The model sees a section's verbatim sentences (numbered) and answers, under a JSON schema, with shorter
sentences that each cite the numbers of the sentences they rest on. A rewritten sentence is kept only when
its sources are verbatim record sentences that support every claim in it
(:func:`agents.drafting.drafter.verified`) and it adds no inconsistency the consistency validator finds
in its sources (a date outside the stay, a dose out of range, an implausible value); otherwise it is
dropped and counted (``Draft.unverified``, ``DraftSection.dropped``). A section with no kept sentence, a
model error or the whole deadline passing leaves the extractive section in place, with the reason: a draft
never shows an unverified claim, and never waits on the model longer than ``deadline_s``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.consistency.checks import validate_draft
from agents.drafting.drafter import Draft, DraftSection, DraftSentence, verified
from agents.llm.prompts import PromptTemplate
from agents.llm.types import ChatRequest, LLMClient, LLMError
from fhir_ops.data_access.record import EncounterRecord

ABSTRACTIVE_VERSION = "abstractive-1"
PROMPT = PromptTemplate("discharge_summary", 1)
#: The sections worth abstracting: the course of the stay and the state at discharge.
SECTIONS = ("诊疗经过", "出院情况")
#: A section of fewer verbatim sentences is left as it is (nothing to condense).
MIN_SENTENCES = 2
TEXT_MAX = 160
_END = "。；;！!？?"


class _Rewritten(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[int] = Field(min_length=1)
    text: str = Field(max_length=TEXT_MAX * 2)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sentences: list[_Rewritten]


def answer_schema(sources: int, max_sentences: int) -> dict[str, Any]:
    """``{sentences: [{sources: [1..n], text}]}``: the citation is generated before the sentence."""
    item = {
        "type": "object",
        "properties": {
            "sources": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": sources},
                "minItems": 1,
                "maxItems": min(sources, 6),
            },
            "text": {"type": "string", "maxLength": TEXT_MAX},
        },
        "required": ["sources", "text"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "sentences": {"type": "array", "items": item, "minItems": 1, "maxItems": max_sentences}
        },
        "required": ["sentences"],
        "additionalProperties": False,
    }


def _sentence_text(text: str) -> str:
    """The model's sentence, trimmed, ending with a full stop (it is rendered run-on with the others)."""
    text = text.strip()
    return text if not text or text[-1] in _END else text + "。"


@dataclass(frozen=True, slots=True)
class AbstractiveDrafter:
    """Rewrites ``sections`` of a draft with ``client`` within ``deadline_s`` (see the module doc)."""

    client: LLMClient
    deadline_s: float
    sections: tuple[str, ...] = SECTIONS
    max_sentences: int = 4
    max_tokens: int = 384

    async def rewrite(self, draft: Draft, record: EncounterRecord) -> Draft:
        """A new draft whose chosen sections are rewritten where the model's sentences are supported."""
        result = Draft(draft.template, list(draft.sections), draft.unverified)
        notes = {n.reference: n.text for n in record.notes}
        chosen = [i for i, s in enumerate(result.sections) if s.name in self.sections]
        try:
            async with asyncio.timeout(self.deadline_s):
                for i in chosen:
                    result.sections[i] = await self._section(result, result.sections[i], record, notes)
        except TimeoutError:
            for i in chosen:
                if result.sections[i].mode == "extractive" and result.sections[i].fallback is None:
                    result.sections[i] = replace(
                        result.sections[i], fallback=f"deadline {self.deadline_s:g}s"
                    )
        return result

    async def _section(
        self, draft: Draft, section: DraftSection, record: EncounterRecord, notes: dict[str, str]
    ) -> DraftSection:
        quotes = section.sentences
        if len(quotes) < MIN_SENTENCES or any(q.rendered or q.sources for q in quotes):
            return replace(section, fallback="nothing to condense")
        prompt = PROMPT.render(
            section=section.name, sentences=[q.text for q in quotes], max_sentences=self.max_sentences
        )
        request = ChatRequest(
            messages=prompt.messages,
            prompt_version=prompt.version,
            schema=answer_schema(len(quotes), self.max_sentences),
            schema_name="discharge_section",
            max_tokens=self.max_tokens,
        )
        try:
            answer = await self.client.complete(request)
            parsed = _Answer.model_validate(answer.data)
        except LLMError as exc:
            return replace(section, fallback=f"model {exc.reason}")
        except ValidationError:
            return replace(section, fallback="model bad-response")
        kept: list[DraftSentence] = []
        dropped = 0
        for rewritten in parsed.sentences[: self.max_sentences]:
            cited = [quotes[n - 1] for n in dict.fromkeys(rewritten.sources) if 1 <= n <= len(quotes)]
            text = _sentence_text(rewritten.text)
            sentence = (
                DraftSentence(text, cited[0].evidence, sources=tuple(q.evidence for q in cited))
                if cited
                else None
            )
            if (
                sentence is None
                or not verified(sentence, notes)
                or self._adds_inconsistency(draft, section.name, sentence, cited, record)
            ):
                dropped += 1
                continue
            kept.append(sentence)
        draft.unverified += dropped
        if not kept:
            return replace(section, fallback="no supported sentence", dropped=dropped)
        draft.model, draft.prompt = answer.model, prompt.version
        return DraftSection(section.name, section.required, kept, mode="abstractive", dropped=dropped)

    @staticmethod
    def _adds_inconsistency(
        draft: Draft,
        name: str,
        sentence: DraftSentence,
        cited: list[DraftSentence],
        record: EncounterRecord,
    ) -> bool:
        """The consistency validator finds more in the sentence than in the sentences it cites."""

        def inconsistent(sentences: list[DraftSentence]) -> int:
            probe = Draft(draft.template, [DraftSection(name, True, sentences)])
            return validate_draft(probe, record).inconsistent

        return inconsistent([sentence]) > inconsistent(cited)
