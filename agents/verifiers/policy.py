"""The verification policy: structured first, then lexical, then any extra verifiers (the LLM)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from agents.lexical.verifier import LexicalVerifier
from agents.verifiers.base import FactVerdict, FactVerifier
from agents.verifiers.context import VerificationContext
from agents.verifiers.evidence import enforce_evidence
from agents.verifiers.structured import StructuredVerifier
from measures.catalog.schema import FactSpec

DEFAULT_THRESHOLD = 0.7
log = logging.getLogger(__name__)


class VerificationPolicy:
    """Ask each verifier in turn; stop at the first known verdict at or above ``threshold``.

    Every verdict passes the evidence check first. If none reaches the threshold the most confident known
    verdict is kept (the report then flags review through its confidence), else the fact is unknown.
    Verdicts are cached per record by fact definition, so facts shared by indicators run once.
    """

    def __init__(
        self, verifiers: Sequence[FactVerifier], *, threshold: float = DEFAULT_THRESHOLD, name: str = "custom"
    ) -> None:
        self.verifiers = list(verifiers)
        self.threshold = threshold
        self.name = name

    async def verify(self, fact: FactSpec, ctx: VerificationContext) -> FactVerdict:
        key = json.dumps(fact.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        cached = ctx.verdict_cache.get(key)
        if cached is not None:
            return cached
        best: FactVerdict | None = None
        for verifier in self.verifiers:
            try:
                raw = await verifier.verify(fact, ctx)
            except Exception:  # a verifier's defect must cost one fact, never the request
                log.exception("verifier failed", extra={"verifier": type(verifier).__name__, "fact": fact.id})
                continue
            verdict = enforce_evidence(raw, ctx)
            if verdict.known and verdict.confidence >= self.threshold:
                best = verdict
                break
            if verdict.known and (best is None or verdict.confidence > best.confidence):
                best = verdict
        result = best or FactVerdict(fact_id=fact.id, detail="no verifier could answer")
        ctx.verdict_cache[key] = result
        return result

    async def verify_all(self, facts: Sequence[FactSpec], ctx: VerificationContext) -> dict[str, FactVerdict]:
        return {fact.id: await self.verify(fact, ctx) for fact in facts}


def default_policy(
    extra: Sequence[FactVerifier] = (), *, threshold: float = DEFAULT_THRESHOLD
) -> VerificationPolicy:
    """Structured, then lexical, then ``extra`` (e.g. the LLM verifier) for what is still unknown."""
    name = "lexical" if not extra else "hybrid"
    return VerificationPolicy(
        [StructuredVerifier(), LexicalVerifier(), *extra], threshold=threshold, name=name
    )
