"""Composition of the language-model path from the injected :class:`Settings`: one gateway and the
knowledge index per configuration, the verifiers, and the ``llm`` / ``hybrid`` verification methods.

Built once where settings are known (the app lifespan, a CLI command) and passed on; nothing here reads
the environment. With no model configured everything still builds: the verifier answers "unknown" (so
``hybrid`` is the lexical policy) and the zero-shot judge answers "unknown".
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from agents.llm.gateway import LLMGateway, gateway_from_settings
from agents.llm.verifier import DEFAULT_CONFIDENCE, LLMFactVerifier
from agents.llm.zero_shot import ZeroShotJudge
from agents.methods import register_method
from agents.verifiers.policy import VerificationPolicy, default_policy
from knowledge_base.retrieval.index import DEFAULT_KB_DIR, KnowledgeIndex, ensure_index
from medqc.settings import Settings

log = logging.getLogger(__name__)

HybridScope = Literal["unlexiconed", "unknown"]


class LanguageModel:
    """The model gateway (None when no model is configured), its knowledge index and the policies."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gateway: LLMGateway | None = gateway_from_settings(settings) if settings.llm_base_url else None
        self._index: KnowledgeIndex | None = None
        self._index_tried = False

    @property
    def kb_dir(self) -> Path:
        return Path(self.settings.kb_dir or DEFAULT_KB_DIR)

    def index(self) -> KnowledgeIndex | None:
        """The knowledge index (built on first use if missing or stale); None if it cannot be built."""
        if not self._index_tried:
            self._index_tried = True
            try:
                self._index = ensure_index(self.kb_dir)
            except (OSError, ValueError) as exc:
                log.warning("knowledge-base index unavailable, verifying without it: %s", exc)
        return self._index

    def verifier(
        self, *, confidence: float = DEFAULT_CONFIDENCE, defer_to_lexicon: bool = False
    ) -> LLMFactVerifier:
        return LLMFactVerifier(
            self.gateway,
            knowledge=self.index() if self.gateway is not None else None,
            confidence=confidence,
            defer_to_lexicon=defer_to_lexicon,
        )

    def llm_policy(self) -> VerificationPolicy:
        """``llm``: the model alone (CF-IR with retrieval) for every fact."""
        return VerificationPolicy([self.verifier()], threshold=DEFAULT_CONFIDENCE, name="llm")

    def hybrid_policy(
        self, ask_below: float = DEFAULT_CONFIDENCE, scope: HybridScope | None = None
    ) -> VerificationPolicy:
        """``hybrid``: structured, lexical, then the model only where they leave the fact unknown or known
        with confidence below ``ask_below``, and only for the facts ``scope`` allows
        (``MEDQC_LLM_HYBRID_SCOPE``: ``unlexiconed``, the default, asks only about facts with no lexicon
        entry; ``unknown`` every fact the lexicon leaves unknown — use with a model measured better)."""
        defer = (scope or self.settings.llm_hybrid_scope) == "unlexiconed"
        verifier = self.verifier(confidence=ask_below, defer_to_lexicon=defer)
        return default_policy([verifier], threshold=ask_below)

    def zero_shot_judge(self) -> ZeroShotJudge:
        return ZeroShotJudge(self.gateway)

    def register_methods(self) -> None:
        """Register ``llm`` and ``hybrid`` in :mod:`agents.methods` (``zero-shot`` is not a fact policy)."""
        register_method("llm", self.llm_policy)
        register_method("hybrid", self.hybrid_policy)

    async def aclose(self) -> None:
        if self.gateway is not None:
            await self.gateway.aclose()
