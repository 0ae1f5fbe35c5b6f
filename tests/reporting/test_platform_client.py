"""The platform client over a scripted HTTP transport: which answers are retried, the token renewal on a
401, the whole-call deadline, and that a refusal is reported with the platform's reason."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from measures.reporting.client import BackendServicesAuth, PlatformClient

BASE = "https://platform.example/fhir"
TOKEN_URL = "https://platform.example/token"
REPORT = {"resourceType": "MeasureReport", "id": "summ-1"}
ACCEPTED = {
    "resourceType": "OperationOutcome",
    "issue": [
        {
            "severity": "information",
            "code": "informational",
            "details": {
                "coding": [
                    {"system": "http://medqc.org/fhir/CodeSystem/submit-data-outcome", "code": "created"}
                ]
            },
            "expression": ["MeasureReport/summ-1"],
        }
    ],
}


def client(
    answers: list[Callable[[httpx.Request], httpx.Response]], seen: list[httpx.Request], **kwargs: Any
) -> PlatformClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)(request) if len(answers) > 1 else answers[0](request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return PlatformClient(base_url=BASE, http=http, backoff_initial_s=0.01, backoff_max_s=0.02, **kwargs)


def status(code: int, body: dict[str, Any] | None = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _request: httpx.Response(
        code, json=body or {"resourceType": "OperationOutcome", "issue": []}
    )


async def test_transient_answers_are_retried_then_accepted() -> None:
    seen: list[httpx.Request] = []
    c = client([status(503), status(429), status(200, ACCEPTED)], seen, static_token="t")
    answer = await c.submit("m1", REPORT)
    assert (answer.outcome, answer.result, answer.attempts) == ("accepted", "created", 3)
    assert {str(r.url) for r in seen} == {f"{BASE}/Measure/m1/$submit-data"}
    assert all(r.headers["authorization"] == "Bearer t" for r in seen)


async def test_a_refusal_is_not_retried_and_keeps_the_reason() -> None:
    seen: list[httpx.Request] = []
    refusal = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "diagnostics": "bad period"}],
    }
    answer = await client([status(422, refusal)], seen).submit("m1", REPORT)
    assert (answer.outcome, answer.http_status, answer.attempts) == ("rejected", 422, 1)
    assert answer.response == refusal
    assert "bad period" in answer.message
    assert len(seen) == 1


async def test_attempts_are_bounded() -> None:
    seen: list[httpx.Request] = []
    answer = await client([status(500)], seen, max_attempts=3).submit("m1", REPORT)
    assert (answer.outcome, answer.http_status, answer.attempts) == ("failed", 500, 3)
    assert len(seen) == 3


async def test_the_whole_call_has_a_deadline() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=ACCEPTED)

    http = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    c = PlatformClient(base_url=BASE, http=http, deadline_s=0.2)
    answer = await c.submit("m1", REPORT)
    assert answer.outcome == "failed"
    assert "deadline" in answer.message


async def test_backend_services_token_is_signed_cached_and_renewed_on_401() -> None:
    key = ECKey.generate_key("P-384", parameters={"kid": "k1"}, private=True)
    issued: list[dict[str, Any]] = []
    platform_calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            form = dict(httpx.QueryParams(request.content.decode()))
            claims = jwt.decode(form["client_assertion"], key, algorithms=["ES384"]).claims
            issued.append(claims)
            assert form["grant_type"] == "client_credentials"
            return httpx.Response(200, json={"access_token": f"tok-{len(issued)}", "expires_in": 300})
        platform_calls.append(request.headers["authorization"])
        return httpx.Response(
            401 if request.headers["authorization"] == "Bearer tok-1" else 200, json=ACCEPTED
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    auth = BackendServicesAuth(token_url=TOKEN_URL, client_id="medqc", key=key, scope="system/x", http=http)
    c = PlatformClient(base_url=BASE, http=http, auth=auth)
    assert (await c.submit("m1", REPORT)).outcome == "accepted"
    assert platform_calls == ["Bearer tok-1", "Bearer tok-2"]  # the refused token was renewed once
    assert (await c.submit("m1", REPORT)).outcome == "accepted"
    assert len(issued) == 2  # the renewed token is reused
    assert issued[0]["iss"] == issued[0]["sub"] == "medqc"
    assert issued[0]["aud"] == TOKEN_URL
    assert issued[0]["jti"] != issued[1]["jti"]


async def test_a_refused_client_is_a_rejection() -> None:
    key = ECKey.generate_key("P-384", private=True)
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(401, json={"error": "invalid_client"}))
    )
    auth = BackendServicesAuth(token_url=TOKEN_URL, client_id="medqc", key=key, scope="s", http=http)
    answer = await PlatformClient(base_url=BASE, http=http, auth=auth).submit("m1", REPORT)
    assert answer.outcome == "rejected"
    assert "invalid_client" in answer.message


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_network_errors_are_retried(error: Exception) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise error
        return httpx.Response(200, json=ACCEPTED)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    answer = await PlatformClient(base_url=BASE, http=http, backoff_initial_s=0.01).submit("m1", REPORT)
    assert (answer.outcome, answer.attempts) == ("accepted", 2)
