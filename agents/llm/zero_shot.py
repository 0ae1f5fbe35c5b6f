"""Zero-shot whole-indicator judgement (the papers' baseline): the indicator asked at once, no facts.

It answers whether the encounter meets the numerator, with a quote that must be found verbatim in the
notes (else the judgement is unknown). For comparison with the fact-and-rule path only: it is never
used to report an indicator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from agents.llm import metrics
from agents.llm.evidence import clean_quote, locate_quote
from agents.llm.prompts import template
from agents.llm.schemas import QUOTE_MAX, REASON_MAX
from agents.llm.types import ChatRequest, LLMAnswer, LLMClient, LLMError
from agents.verifiers.base import Evidence
from knowledge_base.retrieval.sentences import NoteLike

TASK = "zero_shot_indicator"
MAX_NOTE_CHARS = 2500
NOT_CONFIGURED = "no language model configured (MEDQC_LLM_BASE_URL unset)"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "evidence_quote": {"type": "string", "maxLength": QUOTE_MAX},
        "reason": {"type": "string", "maxLength": REASON_MAX},
        "value": {"type": "boolean"},
    },
    "required": ["evidence_quote", "reason", "value"],
    "additionalProperties": False,
}


class IndicatorText(Protocol):
    @property
    def definition(self) -> str: ...
    @property
    def numerator(self) -> str: ...
    @property
    def denominator(self) -> str: ...
    @property
    def other(self) -> str | None: ...


class IndicatorLike(Protocol):
    """What the judge needs of an indicator (``measures.catalog.IndicatorSpec`` fits)."""

    @property
    def key(self) -> str: ...
    @property
    def text(self) -> IndicatorText: ...


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence_quote: str = ""
    reason: str = ""
    value: bool


@dataclass(slots=True)
class IndicatorJudgement:
    """``value`` True: meets the numerator; False: does not; None: unknown (failure or no evidence)."""

    indicator: str
    value: bool | None
    evidence: list[Evidence] = field(default_factory=list)
    detail: str = ""
    prompt_version: str | None = None
    answer: LLMAnswer | None = None
    hallucinated_quote: bool = False


class ZeroShotJudge:
    def __init__(self, client: LLMClient | None, *, max_tokens: int = 200) -> None:
        self.client = client
        self.max_tokens = max_tokens

    async def judge(self, indicator: IndicatorLike, notes: Sequence[NoteLike]) -> IndicatorJudgement:
        """Never raises: gateway failures give an unknown judgement whose detail says why."""
        key = indicator.key
        if self.client is None:
            return IndicatorJudgement(key, None, detail=NOT_CONFIGURED)
        note = "\n".join(n.text for n in notes)
        if not note.strip():
            return IndicatorJudgement(key, None, detail="no note text")
        if len(note) > MAX_NOTE_CHARS:
            note = note[:MAX_NOTE_CHARS] + "…"
        t = indicator.text
        prompt = template(TASK).render(
            indicator=key.replace("_", "：", 1),
            definition=t.definition,
            numerator=t.numerator,
            denominator=t.denominator,
            other=t.other,
            instruction=None,
            note=note,
        )
        request = ChatRequest(prompt.messages, prompt.version, SCHEMA, "indicator_judgement", self.max_tokens)
        try:
            answer = await self.client.complete(request)
        except LLMError as exc:
            detail = f"llm {exc.reason}: {exc.message}"
            return IndicatorJudgement(key, None, detail=detail, prompt_version=prompt.version)
        out = IndicatorJudgement(key, None, prompt_version=prompt.version, answer=answer)
        try:
            parsed = _Answer.model_validate(answer.data)
        except ValidationError as exc:
            out.detail = f"llm bad-response: {exc.errors()[0]['msg']}"
            return out
        quote = clean_quote(parsed.evidence_quote)
        evidence = locate_quote(notes, quote) if quote else None
        if evidence is None and quote:
            metrics.HALLUCINATED_QUOTES.labels(TASK).inc()
            out.hallucinated_quote = True
            out.detail = f"llm: hallucinated quote {quote[:40]!r} discarded"
            return out
        if evidence is None and parsed.value:
            out.detail = "llm: 'meets the numerator' without an evidence quote"
            return out
        out.value = parsed.value
        out.evidence = [evidence] if evidence is not None else []
        out.detail = f"llm ({answer.model} prompt={prompt.version}): {parsed.reason.strip()}"
        return out
