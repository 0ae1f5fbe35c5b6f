"""Gateway edge cases against an in-process fake OpenAI server (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from agents.llm.cache import ResponseCache
from agents.llm.gateway import LLMGateway, api_base, gateway_from_settings
from agents.llm.types import ChatRequest, LLMBadResponseError, LLMUnavailableError
from medqc.settings import Settings

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
REQUEST = ChatRequest(messages=({"role": "user", "content": "hi"},), prompt_version="t/v1", schema=SCHEMA)


def completion(
    content: str, finish: str = "stop", prompt: int = 11, completion_tokens: int = 3
) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "model": "fake",
            "choices": [
                {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens},
        },
    )


class FakeServer:
    def __init__(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        nxt = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return nxt(request) if callable(nxt) else nxt


def gateway(server: FakeServer, **kw: object) -> LLMGateway:
    opts: dict[str, object] = {"max_retries": 3, "backoff_initial_s": 0.01, "backoff_max_s": 0.05}
    opts.update(kw)
    return LLMGateway("http://fake:1/v1", "fake-model", transport=httpx.MockTransport(server), **opts)  # type: ignore[arg-type]


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_request_body_is_non_streaming_json_schema_with_key() -> None:
    server = FakeServer(completion('{"ok": true}'))
    gw = gateway(server, api_key="sekret")
    answer = await gw.complete(REQUEST)
    body = json.loads(server.requests[0].content)
    assert body["stream"] is False
    assert body["model"] == "fake-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert server.requests[0].headers["authorization"] == "Bearer sekret"
    assert server.requests[0].url.path == "/v1/chat/completions"
    assert answer.data == {"ok": True}
    assert answer.prompt_version == "t/v1"
    assert not answer.cached


async def test_token_and_request_metrics() -> None:
    before = counter("medqc_llm_tokens_total", kind="prompt", model="fake-model")
    done = counter("medqc_llm_requests_total", model="fake-model", outcome="ok")
    gw = gateway(FakeServer(completion('{"ok": false}', prompt=40, completion_tokens=5)))
    await gw.complete(REQUEST)
    assert counter("medqc_llm_tokens_total", kind="prompt", model="fake-model") == before + 40
    assert counter("medqc_llm_requests_total", model="fake-model", outcome="ok") == done + 1
    assert gw.usage.prompt == 40
    assert gw.usage.completion == 5


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retries_on_429_and_5xx_then_succeeds(status: int) -> None:
    server = FakeServer(httpx.Response(status, headers={"retry-after": "0"}), completion('{"ok": true}'))
    answer = await gateway(server).complete(REQUEST)
    assert answer.attempts == 2
    assert len(server.requests) == 2


async def test_gives_up_after_max_retries() -> None:
    server = FakeServer(httpx.Response(502))
    with pytest.raises(LLMUnavailableError, match="after 3 attempt"):
        await gateway(server, max_retries=2).complete(REQUEST)
    assert len(server.requests) == 3


async def test_connect_error_is_retried() -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return completion('{"ok": true}')

    answer = await gateway(FakeServer(flaky)).complete(REQUEST)
    assert answer.attempts == 2


async def test_read_timeout_is_not_retried() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    server = FakeServer(slow)
    with pytest.raises(LLMUnavailableError, match="no answer within"):
        await gateway(server).complete(REQUEST)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(400, text="bad schema"), "HTTP 400"),
        (completion("not json"), "not JSON"),
        (completion('{"ok": tr', finish="length"), "max_tokens"),
        (httpx.Response(200, json={"choices": []}), "choices"),
    ],
)
async def test_bad_responses_are_not_retried(response: httpx.Response, match: str) -> None:
    server = FakeServer(response)
    with pytest.raises(LLMBadResponseError, match=match):
        await gateway(server).complete(REQUEST)
    assert len(server.requests) == 1


async def test_cache_memory_then_disk(tmp_path: Path) -> None:
    server = FakeServer(completion('{"ok": true}'))
    gw = gateway(server, cache=ResponseCache(directory=tmp_path))
    await gw.complete(REQUEST)
    again = await gw.complete(REQUEST)
    assert again.cached
    assert again.data == {"ok": True}
    assert len(server.requests) == 1
    other = gateway(server, cache=ResponseCache(directory=tmp_path))  # a new process, same directory
    assert (await other.complete(REQUEST)).cached
    assert len(server.requests) == 1
    changed = ChatRequest(REQUEST.messages, "t/v1", schema={"type": "object"})
    await gw.complete(changed)  # another schema: another key
    assert len(server.requests) == 2


async def test_lru_evicts_oldest() -> None:
    cache = ResponseCache(max_entries=2)
    for k in "abc":
        await cache.put(k, {"content": k})
    assert await cache.get("a") is None
    assert await cache.get("c") == {"content": "c"}


def test_not_configured_means_no_gateway() -> None:
    assert gateway_from_settings(Settings(llm_base_url=None)) is None
    gw = gateway_from_settings(Settings(llm_base_url="http://gpu:8000", llm_model="Qwen/Qwen2.5-7B-Instruct"))
    assert gw is not None
    assert gw.base_url == "http://gpu:8000/v1"
    assert gw.model == "Qwen/Qwen2.5-7B-Instruct"


def test_api_base() -> None:
    assert api_base("http://h:1/") == "http://h:1/v1"
    assert api_base("http://h:1/openai/v1") == "http://h:1/openai/v1"
