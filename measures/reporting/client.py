"""The platform client: SMART Backend Services tokens and ``$submit-data`` calls with retries.

Authentication (SMART App Launch "Backend Services"): MedQC signs a short-lived JWT with its private key
(``iss`` = ``sub`` = client id, ``aud`` = the token endpoint, a fresh ``jti``) and exchanges it at the
platform's token endpoint with ``grant_type=client_credentials``; the access token is kept until shortly
before it expires. A 401 from the platform drops the token and asks for a new one, once.

Each submission has a whole-call deadline; within it transport errors, 429 and 5xx answers are retried
with exponential backoff and jitter, a bounded number of times. Other 4xx answers are the platform
refusing the report: not retried, returned as ``rejected`` with the platform's OperationOutcome.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeySet, RSAKey
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from measures.reporting.ledger import Outcome

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RESULT_SYSTEM = "http://medqc.org/fhir/CodeSystem/submit-data-outcome"
#: Renew an access token this many seconds before the platform says it expires.
EXPIRY_MARGIN_S = 30.0
#: How a report travels: DEQM ``$submit-data``, or a FHIR transaction that PUTs the report under its
#: stable id (for platforms that take summary reports as plain resources).
Via = Literal["submit-data", "transaction"]


class TokenError(Exception):
    """The token endpoint refused the client or did not answer (message has no secrets)."""


def load_private_key(path: Path) -> Key:
    """A private signing key from a JWK or a one-key JWKS file (EC P-384 → ES384, RSA → RS384)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "keys" in data:
        keys = KeySet.import_key_set(data).keys  # type: ignore[arg-type]
        if len(keys) != 1:
            raise ValueError(f"{path}: expected exactly one key in the JWKS")
        key: Key = keys[0]
    else:
        key = ECKey.import_key(data) if data.get("kty") == "EC" else RSAKey.import_key(data)
    if not key.is_private:
        raise ValueError(f"{path}: the client key must be private")
    return key


def algorithm_for(key: Key) -> str:
    return "ES384" if isinstance(key, ECKey) else "RS384"


@dataclass(slots=True)
class BackendServicesAuth:
    """Client-credentials tokens with a signed JWT assertion, cached until they expire."""

    token_url: str
    client_id: str
    key: Key
    scope: str
    http: httpx.AsyncClient
    timeout_s: float = 10.0
    _token: str | None = None
    _expires_at: float = 0.0

    def assertion(self, *, lifetime_s: int = 300) -> str:
        now = int(time.time())
        header = {"alg": algorithm_for(self.key), "typ": "JWT"}
        if self.key.kid:
            header["kid"] = self.key.kid
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(header, claims, self.key, algorithms=[algorithm_for(self.key)])

    async def token(self, *, renew: bool = False) -> str:
        if not renew and self._token is not None and time.monotonic() < self._expires_at:
            return self._token
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        try:
            response = await self.http.post(self.token_url, data=form, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise TokenError(f"token endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise TokenError(f"token endpoint answered {response.status_code}: {_oauth_error(response)}")
        body = response.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenError("token endpoint answered without an access_token")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        self._token, self._expires_at = token, time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN_S)
        return token


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no JSON body"
    return str(body.get("error", "unknown error")) if isinstance(body, dict) else "unknown error"


@dataclass(frozen=True, slots=True)
class PlatformAnswer:
    """What became of one ``$submit-data`` call."""

    outcome: Outcome
    http_status: int | None
    result: str | None  # created | updated | unchanged, when accepted
    response: dict[str, Any] | None
    attempts: int
    message: str


class _Transient(Exception):
    """A retryable answer (429 or 5xx) or a transport error."""

    def __init__(self, status: int | None, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(slots=True)
class PlatformClient:
    """``POST [platform]/Measure/{id}/$submit-data`` (or a transaction ``PUT MeasureReport/{id}``) with a
    bearer token, retries and a deadline."""

    base_url: str
    http: httpx.AsyncClient
    auth: BackendServicesAuth | None = None
    static_token: str | None = None
    request_timeout_s: float = 30.0
    deadline_s: float = 120.0
    max_attempts: int = 4
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0

    async def submit(
        self, measure_id: str, report: dict[str, Any], *, via: Via = "submit-data"
    ) -> PlatformAnswer:
        base = self.base_url.rstrip("/")
        url, body = (
            (
                f"{base}/Measure/{measure_id}/$submit-data",
                {"resourceType": "Parameters", "parameter": [{"name": "measureReport", "resource": report}]},
            )
            if via == "submit-data"
            else (
                base,
                {
                    "resourceType": "Bundle",
                    "type": "transaction",
                    "entry": [
                        {
                            "resource": report,
                            "request": {"method": "PUT", "url": f"MeasureReport/{report['id']}"},
                        }
                    ],
                },
            )
        )
        attempts = 0
        last: _Transient | None = None
        try:
            async with asyncio.timeout(self.deadline_s):
                retrying = AsyncRetrying(
                    stop=stop_after_attempt(self.max_attempts),
                    wait=wait_exponential_jitter(multiplier=self.backoff_initial_s, max=self.backoff_max_s),
                    retry=retry_if_exception_type(_Transient),
                    reraise=True,
                )
                async for attempt in retrying:
                    with attempt:
                        attempts += 1
                        try:
                            return await self._post(url, body, str(report.get("id", "")), attempts)
                        except _Transient as exc:
                            last = exc
                            raise
        except _Transient as exc:
            return PlatformAnswer("failed", exc.status, None, exc.body, attempts, str(exc))
        except TimeoutError:
            status = last.status if last else None
            message = f"no answer within the {self.deadline_s:g}s deadline"
            return PlatformAnswer("failed", status, None, last.body if last else None, attempts, message)
        except TokenError as exc:
            return PlatformAnswer("rejected", None, None, None, attempts, str(exc))
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _headers(self, *, renew: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
        if self.auth is not None:
            headers["Authorization"] = f"Bearer {await self.auth.token(renew=renew)}"
        elif self.static_token:
            headers["Authorization"] = f"Bearer {self.static_token}"
        return headers

    async def _post(self, url: str, body: dict[str, Any], report_id: str, attempts: int) -> PlatformAnswer:
        response = await self._send(url, body, renew=False)
        if response.status_code == 401 and self.auth is not None:
            response = await self._send(url, body, renew=True)  # the token may have been revoked
        answer = _json(response)
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(status, f"platform answered {status}", answer)
        if status >= 400:
            return PlatformAnswer("rejected", status, None, answer, attempts, _diagnostics(answer, status))
        result = _result_for(answer, report_id)
        return PlatformAnswer(
            "accepted", status, result, answer, attempts, f"MeasureReport/{report_id} {result}"
        )

    async def _send(self, url: str, body: dict[str, Any], *, renew: bool) -> httpx.Response:
        headers = await self._headers(renew=renew)
        try:
            return await self.http.post(url, json=body, headers=headers, timeout=self.request_timeout_s)
        except httpx.TransportError as exc:
            raise _Transient(None, f"platform unreachable: {type(exc).__name__}") from exc


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _diagnostics(outcome: dict[str, Any] | None, status: int) -> str:
    issues = (outcome or {}).get("issue") or []
    texts = [str(i.get("diagnostics")) for i in issues if isinstance(i, dict) and i.get("diagnostics")]
    return f"platform answered {status}: " + ("; ".join(texts) if texts else "no OperationOutcome")


def _result_for(outcome: dict[str, Any] | None, report_id: str) -> str:
    """created / updated / unchanged from a ``$submit-data`` OperationOutcome or a transaction response."""
    if (outcome or {}).get("resourceType") == "Bundle":
        entry: dict[str, Any] = next(iter((outcome or {}).get("entry") or []), {})
        status = str((entry.get("response") or {}).get("status", ""))
        return "created" if status.startswith("201") else "updated" if status.startswith("200") else "stored"
    for issue in (outcome or {}).get("issue") or []:
        if f"MeasureReport/{report_id}" in (issue.get("expression") or []):
            for coding in (issue.get("details") or {}).get("coding") or []:
                if coding.get("system") == RESULT_SYSTEM:
                    return str(coding.get("code"))
    return "stored"
