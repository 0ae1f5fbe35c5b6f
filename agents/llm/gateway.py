"""One async client for any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, llama-server).

Bounded concurrency, retries with exponential backoff on connect errors, 5xx and 429 (each retry on a
fresh connection: llama-server may drop a reused keep-alive connection), JSON-schema constrained output,
a response cache keyed by (model, prompt, schema), Prometheus token/latency accounting, and the prompt
version carried on every answer. Never streams. With no base URL configured there is no gateway at all:
:func:`gateway_from_settings` returns None and verifiers answer "unknown" (no error).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from agents.llm import metrics
from agents.llm.cache import ResponseCache, cache_key
from agents.llm.types import ChatRequest, LLMAnswer, LLMBadResponseError, LLMUnavailableError
from medqc.settings import Settings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class _RetryableError(Exception):
    """An attempt failed in a way worth retrying; ``retry_after`` from a 429/503 header (seconds)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class TokenUsage:
    prompt: int = 0
    completion: int = 0
    requests: int = 0
    cache_hits: int = 0
    seconds: float = 0.0


def api_base(url: str) -> str:
    """The OpenAI API root: a bare host gets ``/v1``; an explicit path is kept.

    >>> api_base("http://127.0.0.1:8081"), api_base("http://gpu:8000/v1/")
    ('http://127.0.0.1:8081/v1', 'http://gpu:8000/v1')
    """
    url = url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


class LLMGateway:
    """See the module doc. One instance per process (it owns an HTTP connection pool per event loop)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_concurrency: int = 2,
        max_retries: int = 3,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        cache: ResponseCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = api_base(base_url)
        self._model = model
        self.api_key = api_key
        self.timeout = httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))
        #: the whole call (retries and the streamed body included) never outlasts the configured timeout
        self.deadline_s = timeout_s
        self.max_concurrency = max(1, max_concurrency)
        self.max_retries = max(0, max_retries)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.cache = cache if cache is not None else ResponseCache()
        self.usage = TokenUsage()
        self._transport = transport
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None

    @property
    def model(self) -> str:
        return self._model

    # -- connection handling -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _new_client(self, *, keepalive: bool = True) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=self.max_concurrency,
            max_keepalive_connections=self.max_concurrency if keepalive else 0,
        )
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers(),
            timeout=self.timeout,
            limits=limits,
            transport=self._transport,
        )

    def _pooled(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        """The pool and semaphore of the running event loop (a new loop gets new ones)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._semaphore is None or self._loop is not loop:
            self._loop = loop
            self._client = self._new_client()
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._client, self._semaphore

    async def aclose(self) -> None:
        client, self._client, self._loop, self._semaphore = self._client, None, None, None
        if client is not None:
            await client.aclose()

    async def ping(self) -> bool:
        """True when ``GET /models`` answers 2xx (a cheap readiness probe)."""
        try:
            async with self._new_client(keepalive=False) as client:
                return (await client.get("/models")).is_success
        except httpx.HTTPError:
            return False

    # -- completion ----------------------------------------------------------------------------------

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stream": False,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": True},
            }
        return body

    def _wait(self, state: RetryCallState) -> float:
        delay = float(min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** (state.attempt_number - 1)))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableError) and exc.retry_after:
            delay = max(delay, min(exc.retry_after, self.backoff_max_s))
        return delay

    def _count_retry(self, state: RetryCallState) -> None:
        metrics.RETRIES.labels(self._model).inc()

    async def _attempt(self, body: dict[str, Any], *, fresh: bool) -> httpx.Response:
        client, semaphore = self._pooled()
        async with semaphore:
            try:
                if fresh:  # a retry: never reuse a connection that may be dead
                    async with self._new_client(keepalive=False) as one_shot:
                        response = await one_shot.post("/chat/completions", json=body)
                else:
                    response = await client.post("/chat/completions", json=body)
            except httpx.ReadTimeout as exc:  # the server is working on it: retrying would queue twice
                raise LLMUnavailableError(f"no answer within {self.timeout.read}s") from exc
            except httpx.TransportError as exc:
                raise _RetryableError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in RETRY_STATUSES:
            raise _RetryableError(f"HTTP {response.status_code}", _retry_after(response))
        if response.is_error:
            raise LLMBadResponseError(f"HTTP {response.status_code}: {response.text[:200]}")
        return response

    async def _post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_RetryableError),
            before_sleep=self._count_retry,
            reraise=True,
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    response = await self._attempt(body, fresh=attempts > 1)
        except _RetryableError as exc:
            raise LLMUnavailableError(f"{exc} after {attempts} attempt(s)") from exc
        try:
            payload = response.json()
        except ValueError as exc:
            raise LLMBadResponseError("the server's answer is not JSON") from exc
        if not isinstance(payload, dict):
            raise LLMBadResponseError("the server's answer is not a JSON object")
        return payload, attempts

    async def complete(self, request: ChatRequest) -> LLMAnswer:
        """One completion (cached); raises :class:`LLMUnavailableError` or :class:`LLMBadResponseError`."""
        key = cache_key(self._model, request)
        hit = await self.cache.get(key)
        if hit is not None:
            self.usage.cache_hits += 1
            metrics.REQUESTS.labels(self._model, "cached").inc()
            return _answer_from_cache(hit, request)
        started = time.perf_counter()
        try:
            try:
                async with asyncio.timeout(self.deadline_s):  # every attempt and body byte: a trickle is cut
                    payload, attempts = await self._post(self._body(request))
            except TimeoutError as exc:
                raise LLMUnavailableError(f"no complete answer within {self.deadline_s}s") from exc
            answer = _answer(payload, request, self._model, time.perf_counter() - started, attempts)
        except (LLMUnavailableError, LLMBadResponseError) as exc:
            metrics.REQUESTS.labels(self._model, exc.reason).inc()
            raise
        metrics.LATENCY.labels(self._model).observe(answer.latency_s)
        metrics.REQUESTS.labels(self._model, "ok").inc()
        metrics.TOKENS.labels("prompt", self._model).inc(answer.prompt_tokens)
        metrics.TOKENS.labels("completion", self._model).inc(answer.completion_tokens)
        self.usage.requests += 1
        self.usage.prompt += answer.prompt_tokens
        self.usage.completion += answer.completion_tokens
        self.usage.seconds += answer.latency_s
        await self.cache.put(key, _cache_entry(answer))
        return answer


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _answer(
    payload: dict[str, Any], request: ChatRequest, model: str, latency: float, attempts: int
) -> LLMAnswer:
    try:
        choice = payload["choices"][0]
        content = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMBadResponseError("no choices[0].message.content in the answer") from exc
    finish = choice.get("finish_reason")
    data: Any = None
    if request.schema is not None:
        if finish == "length":
            raise LLMBadResponseError(f"output cut at max_tokens={request.max_tokens}")
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise LLMBadResponseError(f"output is not JSON: {content[:120]!r}") from exc
    usage = payload.get("usage") or {}
    return LLMAnswer(
        content=content,
        data=data,
        model=str(payload.get("model") or model),
        prompt_version=request.prompt_version,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        latency_s=latency,
        attempts=attempts,
        finish_reason=finish,
    )


def _cache_entry(answer: LLMAnswer) -> dict[str, Any]:
    return {
        "content": answer.content,
        "model": answer.model,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "latency_s": answer.latency_s,
        "finish_reason": answer.finish_reason,
    }


def _answer_from_cache(entry: dict[str, Any], request: ChatRequest) -> LLMAnswer:
    content = str(entry.get("content", ""))
    return LLMAnswer(
        content=content,
        data=json.loads(content) if request.schema is not None else None,
        model=str(entry.get("model")),
        prompt_version=request.prompt_version,
        prompt_tokens=int(entry.get("prompt_tokens") or 0),
        completion_tokens=int(entry.get("completion_tokens") or 0),
        latency_s=0.0,
        cached=True,
        attempts=0,
        finish_reason=entry.get("finish_reason"),
    )


def gateway_from_settings(settings: Settings, *, cache_dir: Path | None = None) -> LLMGateway | None:
    """The gateway the settings describe, or None when no model is configured (``MEDQC_LLM_BASE_URL``)."""
    if not settings.llm_base_url:
        return None
    directory = cache_dir or _optional_path(getattr(settings, "llm_cache_dir", None))
    return LLMGateway(
        settings.llm_base_url,
        settings.llm_model,
        api_key=settings.llm_api_key,
        timeout_s=settings.llm_timeout_s,
        max_concurrency=settings.llm_max_concurrency,
        max_retries=settings.llm_max_retries,
        cache=ResponseCache(directory=directory),
    )


def _optional_path(value: object) -> Path | None:
    return Path(str(value)) if value else None
