"""JSON logs with request and trace ids, W3C ``traceparent`` propagation, and Prometheus metrics."""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time

import orjson
from prometheus_client import Counter, Histogram
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fhir_ops.store.concurrency import database_error
from fhir_ops.tracing import request_id_var, trace_id_var

REQUESTS = Counter("medqc_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "medqc_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.trace_id = trace_id_var.get()
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(trace_id)s")
    )
    handler.addFilter(_ContextFilter())
    # the handler, not only the root logger, holds the level: a library that sets its own logger to
    # DEBUG when imported (bm25s does) must not bring its debug records through
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "aiosqlite", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """``(trace_id, parent_id)`` of a valid W3C traceparent header."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if not match or match[1] == "0" * 32 or match[2] == "0" * 16:
        return None
    return match[1], match[2]


class RequestContextMiddleware:
    """Assigns a request id, continues or starts a W3C trace, times the request and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("medqc.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = headers.get("x-request-id") or secrets.token_hex(8)
        parent = parse_traceparent(headers.get("traceparent"))
        trace_id = parent[0] if parent else secrets.token_hex(16)
        span_id = secrets.token_hex(8)
        flags = headers.get("traceparent", "00-0-0-01")[-2:] if parent else "01"
        request_token = request_id_var.set(request_id)
        trace_token = trace_id_var.set(trace_id)
        status_holder: dict[str, int] = {"status": 500}
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"traceparent", f"00-{trace_id}-{span_id}-{flags}".encode()),
                ]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_of(scope)
            elapsed = time.perf_counter() - started
            REQUESTS.labels(scope["method"], route, str(status_holder["status"])).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            self.log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(request_token)
            trace_id_var.reset(trace_token)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class BodySizeLimitMiddleware:
    """Answers 413 (OperationOutcome) when the declared or streamed body exceeds the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send, self.max_bytes)


class ErrorBoundaryMiddleware:
    """The last word on exceptions no handler took: a database that is down or timed out is a 503, anything
    else a 500 — both as an OperationOutcome, logged by class only (driver messages quote the data), and
    without re-raising, so the server keeps the client's keep-alive connection open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("medqc.errors")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            mapped = database_error(exc)
            where = _where(exc)
            if mapped is not None:
                self.log.warning("database unavailable", extra={"error": type(exc).__name__, "at": where})
            else:
                self.log.error("unhandled error", extra={"error": type(exc).__name__, "at": where})
            if started:  # the response is already on its way; nothing sensible can be sent
                return
            if mapped is not None:
                headers = [(k.lower().encode(), v.encode()) for k, v in mapped.headers.items()]
                await send_outcome(tracking_send, mapped.status, mapped.code, mapped.diagnostics, headers)
            else:
                await send_outcome(tracking_send, 500, "exception", "Internal error", severity="fatal")


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame of a traceback (no values, unlike the message)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "-"


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    await send_outcome(send, 413, "too-costly", f"Request body exceeds {limit} bytes")


async def send_outcome(
    send: Send,
    status: int,
    code: str,
    text: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    severity: str = "error",
) -> None:
    body = orjson.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": text}],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/fhir+json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
