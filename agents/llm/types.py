"""The language-model seam: request, answer, errors and the :class:`LLMClient` protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, str]
JsonSchema = dict[str, Any]


class LLMError(Exception):
    """The model could not give a usable answer; ``reason`` is a short machine-readable cause."""

    reason = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LLMNotConfiguredError(LLMError):
    reason = "not-configured"


class LLMUnavailableError(LLMError):
    """Connection refused, timeouts, 5xx/429 after the retries ran out."""

    reason = "unavailable"


class LLMBadResponseError(LLMError):
    """A 4xx answer, or content that is not the JSON the schema asked for (or was cut off)."""

    reason = "bad-response"


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion. ``schema`` constrains the output (``response_format: json_schema``)."""

    messages: tuple[Message, ...]
    prompt_version: str
    schema: JsonSchema | None = None
    schema_name: str = "answer"
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = 0


@dataclass(frozen=True, slots=True)
class LLMAnswer:
    content: str
    data: Any
    model: str
    prompt_version: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 1
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LLMClient(Protocol):
    """What verifiers need of a model: one JSON-constrained completion (the gateway, or a test double)."""

    @property
    def model(self) -> str: ...

    async def complete(self, request: ChatRequest) -> LLMAnswer: ...
