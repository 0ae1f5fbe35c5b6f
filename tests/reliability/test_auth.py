"""One authentication for /fhir and /review: the demo's static token and OAuth2 JWTs with SMART scopes;
401 with WWW-Authenticate, 403 on a scope that does not cover the request, a case-insensitive scheme;
/review of an unknown encounter is a 404; /readyz is 503 while SQLite writes are locked."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.conftest import make_settings
from tests.support.live import live_server

TOKEN = "demo-static-token"
ISSUER = "https://idp.example.org/"
AUDIENCE = "https://medqc.example.org/fhir"


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("static")
    with live_server(make_settings("sqlite", tmp, fhir_access_token=TOKEN)) as base:
        yield base, tmp / "medqc.sqlite"


def test_review_needs_credentials(static: tuple[str, Path]) -> None:
    base, _ = static
    response = httpx.get(f"{base}/review/Encounter/anything")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"
    wrong = httpx.get(f"{base}/fhir/Patient", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_scheme_is_case_insensitive(static: tuple[str, Path], scheme: str) -> None:
    base, _ = static
    assert (
        httpx.get(f"{base}/fhir/Patient", headers={"Authorization": f"{scheme} {TOKEN}"}).status_code == 200
    )


def test_review_of_an_unknown_encounter_is_a_404(static: tuple[str, Path]) -> None:
    base, _ = static
    response = httpx.get(
        f"{base}/review/Encounter/no-such-stay", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_readyz_is_503_while_sqlite_writes_are_locked(static: tuple[str, Path]) -> None:
    base, database = static
    assert httpx.get(f"{base}/readyz").status_code == 200
    holder = sqlite3.connect(database, timeout=1, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 503
        assert time.monotonic() - started < 3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert httpx.get(f"{base}/readyz").status_code == 200


# ---- OAuth2 / OIDC bearer JWTs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idp_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "idp-1", "alg": "RS256", "use": "sig"})


@pytest.fixture(scope="module")
def oauth(tmp_path_factory: pytest.TempPathFactory, idp_key: RSAKey) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("oauth")
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps(KeySet([idp_key]).as_dict(private=False)))
    settings = make_settings(
        "sqlite", tmp, auth_jwks_url=str(jwks), auth_issuer=ISSUER, auth_audience=AUDIENCE
    )
    with live_server(settings) as base:
        yield base


def _token(key: RSAKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "qc-tool", "iat": now, "exp": now + 300, **claims}
    return jwt.encode({"alg": "RS256", "kid": "idp-1"}, body, key)


@pytest.mark.parametrize(
    ("scope", "method", "path", "status"),
    [
        ("user/*.read", "GET", "/fhir/Patient", 200),
        ("user/*.read", "POST", "/fhir/Patient", 403),
        ("user/*.rs", "GET", "/fhir/Condition", 200),
        ("system/Measure.read", "GET", "/fhir/Measure", 200),
        ("system/Measure.read", "GET", "/fhir/Patient", 403),
        ("system/Patient.write", "PUT", "/fhir/Patient/jwt-1", 201),
        ("system/*.cruds", "POST", "/fhir", 400),  # allowed; the empty body is the only problem
        ("user/MeasureReport.read", "GET", "/review/Encounter/unknown", 404),
        ("patient/Observation.read", "GET", "/review/Encounter/unknown", 403),
    ],
)
def test_smart_scopes(oauth: str, idp_key: RSAKey, scope: str, method: str, path: str, status: int) -> None:
    body = (
        {"resourceType": "Patient", "id": "jwt-1"} if method in {"POST", "PUT"} and path != "/fhir" else None
    )
    response = httpx.request(
        method,
        f"{oauth}{path}",
        json=body,
        headers={"Authorization": f"Bearer {_token(idp_key, scope=scope)}"},
    )
    assert response.status_code == status, response.text[:300]
    if status == 403:
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "claims",
    [{"aud": "https://other.example.org/"}, {"iss": "https://evil.example.org/"}, {"exp": 1_000_000_000}],
    ids=["audience", "issuer", "expired"],
)
def test_bad_tokens_are_401(oauth: str, idp_key: RSAKey, claims: dict[str, Any]) -> None:
    token = _token(idp_key, scope="user/*.read", **claims)
    response = httpx.get(f"{oauth}/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_token_of_another_key_is_401(oauth: str) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
    response = httpx.get(
        f"{oauth}/fhir/Patient", headers={"Authorization": f"Bearer {_token(stranger, scope='user/*.read')}"}
    )
    assert response.status_code == 401
