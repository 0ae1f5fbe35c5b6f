"""The language-model fact verifier: fact + retrieved knowledge + relevant note sentences → verdict.

Output is constrained by a JSON schema (``{evidence_quote, reason, value}``) and obeys the evidence
rule: the quote must be found verbatim in a note (offsets recorded), else the verdict is unknown and the
quote is counted as hallucinated. Any gateway failure gives an unknown verdict (method ``llm``, the detail
says why), never an exception. The model, prompt version and knowledge-base version are in the detail
and in :class:`LLMVerification` (for the trace).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.llm import metrics
from agents.llm.evidence import clean_quote, locate_quote
from agents.llm.prompts import template
from agents.llm.schemas import FactLike, answer_schema, parse_answer, value_hint
from agents.llm.types import ChatRequest, LLMAnswer, LLMClient, LLMError
from agents.verifiers.base import Evidence, FactVerdict
from agents.verifiers.context import VerificationContext
from knowledge_base.retrieval.index import Hit, KnowledgeIndex
from knowledge_base.retrieval.sentences import NoteLike, Sentence, SentenceRetriever

TASK = "fact_verification"
DEFAULT_CONFIDENCE = 0.3
KNOWLEDGE_CHARS = 160


@dataclass(slots=True)
class LLMVerification:
    """A verdict with everything needed to replay it."""

    verdict: FactVerdict
    prompt_version: str | None = None
    kb_version: str | None = None
    answer: LLMAnswer | None = None
    sentences: list[Sentence] = field(default_factory=list)
    knowledge: list[str] = field(default_factory=list)
    hallucinated_quote: bool = False


class LLMFactVerifier:
    """:class:`agents.verifiers.base.FactVerifier` backed by a language model (``client``).

    ``client`` None means no model is configured: every verdict is unknown (detail says so).
    ``confidence`` is what a known verdict carries; keep it below the lexical verifier's so the
    hybrid policy only lets the model fill facts the others leave unknown. ``defer_to_lexicon``: never
    ask about a fact that has a lexicon entry (the lexical verifier's "no mention" then stands).
    """

    name = "llm"

    def __init__(
        self,
        client: LLMClient | None,
        *,
        knowledge: KnowledgeIndex | None = None,
        knowledge_top_k: int = 2,
        sentence_top_k: int = 6,
        confidence: float = DEFAULT_CONFIDENCE,
        max_tokens: int = 256,
        accept_unquoted_false: bool = False,
        defer_to_lexicon: bool = False,
    ) -> None:
        self.client = client
        self.knowledge = knowledge
        self.knowledge_top_k = knowledge_top_k
        self.sentence_top_k = sentence_top_k
        self.confidence = confidence
        self.max_tokens = max_tokens
        self.accept_unquoted_false = accept_unquoted_false
        self.defer_to_lexicon = defer_to_lexicon
        self._sentence_index: OrderedDict[tuple[tuple[str, int], ...], SentenceRetriever] = OrderedDict()

    async def verify(self, fact: FactLike, ctx: VerificationContext) -> FactVerdict:
        return (await self.verify_with_trace(fact, ctx)).verdict

    async def verify_with_trace(self, fact: FactLike, ctx: VerificationContext) -> LLMVerification:
        def unknown(detail: str) -> FactVerdict:
            return FactVerdict(fact_id=fact.id, method="llm", detail=detail)

        if self.client is None:
            return LLMVerification(unknown("no language model configured (MEDQC_LLM_BASE_URL unset)"))
        if self.defer_to_lexicon and getattr(fact, "lexicon", None):
            return LLMVerification(unknown("llm not asked: a lexicon covers this fact (hybrid scope)"))
        notes: Sequence[NoteLike] = ctx.notes
        if not notes:
            return LLMVerification(unknown("no note text to verify against"))
        key = ctx.indicator.key if ctx.indicator is not None else None
        indicator = key.replace("_", "：", 1) if key else None
        sentences = self._sentences(notes).retrieve(f"{fact.question} {fact.evidence}", self.sentence_top_k)
        hits = self._knowledge(fact, key.split("_", 1)[0] if key else "")
        kb_version = self.knowledge.version if self.knowledge is not None else None
        answer_type, hint = value_hint(fact)
        prompt = template(TASK).render(
            indicator=indicator,
            question=fact.question,
            answer_type=answer_type,
            evidence_hint=fact.evidence,
            knowledge=[{"title": h.passage.title, "text": _clip(h.passage.text)} for h in hits],
            sentences=sentences,
            value_hint=hint,
        )
        trace = LLMVerification(
            unknown(""), prompt.version, kb_version, None, sentences, [h.passage.id for h in hits]
        )
        request = ChatRequest(
            messages=prompt.messages,
            prompt_version=prompt.version,
            schema=answer_schema(fact),
            schema_name="fact_verdict",
            max_tokens=self.max_tokens,
        )
        try:
            answer = await self.client.complete(request)
        except LLMError as exc:
            trace.verdict = unknown(f"llm {exc.reason}: {exc.message}")
            return trace
        trace.answer = answer
        produced_by = {"model": answer.model, "prompt": prompt.version, "kb": kb_version or ""}
        provenance = f"{answer.model} prompt={prompt.version} kb={kb_version}"
        if answer.cached:
            provenance += " cached"
        try:
            parsed, value = parse_answer(fact, answer.data)
        except ValueError as exc:
            trace.verdict = unknown(f"llm bad-response: {exc} ({provenance})")
            return trace
        reason = parsed.reason.strip()
        if value is None:
            trace.verdict = unknown(f"llm: model cannot tell ({provenance}): {reason}")
            return trace
        prefer = sentences[0].reference if sentences else None
        quote = clean_quote(parsed.evidence_quote)
        evidence = locate_quote(notes, quote, prefer=prefer) if quote else None
        if evidence is None and quote:
            metrics.HALLUCINATED_QUOTES.labels(TASK).inc()
            ctx.stats.quotes_checked += 1
            ctx.stats.quotes_discarded += 1
            ctx.stats.verdicts_voided += 1
            trace.hallucinated_quote = True
            trace.verdict = unknown(f"llm: hallucinated quote {quote[:40]!r} discarded ({provenance})")
            return trace
        if evidence is None:
            if not (value is False and self.accept_unquoted_false):
                trace.verdict = unknown(f"llm: answer {value!r} without an evidence quote ({provenance})")
                return trace
            evidence = Evidence(reference=prefer or notes[0].reference)
        trace.verdict = FactVerdict(
            fact_id=fact.id,
            value=value,
            evidence=[evidence],
            method="llm",
            confidence=self.confidence,
            detail=f"llm ({provenance}): {reason}",
            provenance=produced_by,
        )
        return trace

    def _knowledge(self, fact: FactLike, disease: str) -> list[Hit]:
        if self.knowledge is None or self.knowledge_top_k <= 0:
            return []
        return self.knowledge.retrieve(f"{disease} {fact.question}", top_k=self.knowledge_top_k)

    def _sentences(self, notes: Sequence[NoteLike]) -> SentenceRetriever:
        key = tuple((n.reference, hash(n.text)) for n in notes)
        retriever = self._sentence_index.get(key)
        if retriever is None:
            retriever = self._sentence_index[key] = SentenceRetriever(notes)
            while len(self._sentence_index) > 64:
                self._sentence_index.popitem(last=False)
        return retriever


def _clip(text: str, limit: int = KNOWLEDGE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
