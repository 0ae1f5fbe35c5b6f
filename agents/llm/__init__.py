"""The language-model path: gateway, versioned prompts, the LLM fact verifier and the zero-shot judge.

See ``deploy/llm/README.md`` for backends (vLLM in production, llama-server on a CPU) and configuration.
"""

from agents.llm.gateway import LLMGateway, gateway_from_settings
from agents.llm.types import (
    ChatRequest,
    LLMAnswer,
    LLMBadResponseError,
    LLMClient,
    LLMError,
    LLMNotConfiguredError,
    LLMUnavailableError,
)
from agents.llm.verifier import LLMFactVerifier, LLMVerification
from agents.llm.zero_shot import IndicatorJudgement, ZeroShotJudge

__all__ = [
    "ChatRequest",
    "IndicatorJudgement",
    "LLMAnswer",
    "LLMBadResponseError",
    "LLMClient",
    "LLMError",
    "LLMFactVerifier",
    "LLMGateway",
    "LLMNotConfiguredError",
    "LLMUnavailableError",
    "LLMVerification",
    "ZeroShotJudge",
    "gateway_from_settings",
]
