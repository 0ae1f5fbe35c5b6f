"""An in-memory :class:`agents.llm.types.LLMClient` for unit tests (answers scripted per call)."""

from __future__ import annotations

import json
from typing import Any

from agents.llm.types import ChatRequest, LLMAnswer, LLMError


class FakeClient:
    def __init__(self, *answers: dict[str, Any] | LLMError) -> None:
        self.answers = list(answers)
        self.requests: list[ChatRequest] = []

    @property
    def model(self) -> str:
        return "fake"

    async def complete(self, request: ChatRequest) -> LLMAnswer:
        self.requests.append(request)
        nxt = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(nxt, LLMError):
            raise nxt
        return LLMAnswer(json.dumps(nxt, ensure_ascii=False), nxt, "fake", request.prompt_version, 10, 5)
