"""Composition of the language-model path from settings: the shared gateway and knowledge index, the
verifiers, and the ``llm`` / ``hybrid`` verification methods (see :func:`register_llm_methods`).

With no model configured everything still builds: the verifier answers "unknown" (so ``hybrid`` is the
lexical policy) and the zero-shot judge answers "unknown".
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Literal

from agents.llm.gateway import LLMGateway, gateway_from_settings
from agents.llm.verifier import DEFAULT_CONFIDENCE, LLMFactVerifier
from agents.llm.zero_shot import ZeroShotJudge
from agents.methods import register_method
from agents.verifiers.policy import VerificationPolicy, default_policy
from knowledge_base.retrieval.index import DEFAULT_KB_DIR, KnowledgeIndex, ensure_index
from medqc.settings import Settings, get_settings

log = logging.getLogger(__name__)

_gateways: dict[tuple[str, str, str | None, float, int, int], LLMGateway] = {}


def shared_gateway(settings: Settings | None = None) -> LLMGateway | None:
    """One gateway per distinct configuration (its cache and connection pool are shared); None if unset."""
    s = settings or get_settings()
    if not s.llm_base_url:
        return None
    key = (
        s.llm_base_url,
        s.llm_model,
        s.llm_api_key,
        s.llm_timeout_s,
        s.llm_max_concurrency,
        s.llm_max_retries,
    )
    if key not in _gateways:
        gateway = gateway_from_settings(s)
        if gateway is None:
            return None
        _gateways[key] = gateway
    return _gateways[key]


async def close_gateways() -> None:
    """Close every shared gateway's connections (app shutdown)."""
    for gateway in list(_gateways.values()):
        await gateway.aclose()


def kb_dir() -> Path:
    return Path(get_settings().kb_dir or DEFAULT_KB_DIR)


@cache
def shared_index(directory: Path | None = None) -> KnowledgeIndex | None:
    """The knowledge index (built on first use if missing or stale); None if it cannot be built."""
    try:
        return ensure_index(directory or kb_dir())
    except (OSError, ValueError) as exc:
        log.warning("knowledge-base index unavailable, verifying without retrieved knowledge: %s", exc)
        return None


def llm_verifier(
    settings: Settings | None = None,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    defer_to_lexicon: bool = False,
) -> LLMFactVerifier:
    gateway = shared_gateway(settings)
    return LLMFactVerifier(
        gateway,
        knowledge=shared_index() if gateway is not None else None,
        confidence=confidence,
        defer_to_lexicon=defer_to_lexicon,
    )


HybridScope = Literal["unlexiconed", "unknown"]


def hybrid_scope() -> HybridScope:
    """``MEDQC_LLM_HYBRID_SCOPE``: which facts the hybrid policy may ask the model about.

    ``unlexiconed`` (default): only facts with no lexicon entry. ``unknown``: every fact structured data
    and the lexical verifier leave unknown, including lexical "no mention" -- measured worse than lexical
    alone with the 0.5B CPU model (deploy/llm/README.md); enable only for a model measured better.
    """
    return get_settings().llm_hybrid_scope


def llm_policy() -> VerificationPolicy:
    """``llm``: the model alone (CF-IR with retrieval) for every fact."""
    return VerificationPolicy([llm_verifier()], threshold=DEFAULT_CONFIDENCE, name="llm")


def hybrid_policy(
    ask_below: float = DEFAULT_CONFIDENCE, scope: HybridScope | None = None
) -> VerificationPolicy:
    """``hybrid``: structured, lexical, then the model only where they leave the fact unknown or known
    with confidence below ``ask_below`` (the model's verdict carries ``ask_below`` and then wins), and
    only for the facts ``scope`` allows (see :func:`hybrid_scope`).

    With the default (0.3, below every lexical confidence) the model only fills unknown facts.
    """
    defer = (scope or hybrid_scope()) == "unlexiconed"
    verifier = llm_verifier(confidence=ask_below, defer_to_lexicon=defer)
    return default_policy([verifier], threshold=ask_below)


def zero_shot_judge(settings: Settings | None = None) -> ZeroShotJudge:
    return ZeroShotJudge(shared_gateway(settings))


def register_llm_methods() -> None:
    """Register ``llm`` and ``hybrid`` in :mod:`agents.methods` (``zero-shot`` is not a fact policy)."""
    register_method("llm", llm_policy)
    register_method("hybrid", hybrid_policy)
