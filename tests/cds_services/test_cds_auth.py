"""CDS client JWT verification: every failure is a bare 401; good ES384 and RS384 tokens pass."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pytest
from cds_testkit import (
    DISCHARGE_URL,
    DISCOVERY_URL,
    ISSUER,
    CdsHarness,
    Signer,
    discharge_request,
)
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from cds_services.auth import CdsAuthenticator, parse_issuers
from cds_services.errors import CdsUnauthorizedError
from cds_services.jwks import JwksCache, ReplayCache


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
async def test_good_tokens_are_accepted(cds: CdsHarness, alg: str) -> None:
    response = await cds.client.get("/cds-services", headers=cds.auth(DISCOVERY_URL, alg=alg))
    assert response.status_code == 200
    response = await cds.client.post(
        "/cds-services/medqc-discharge-qc", json=discharge_request(), headers=cds.auth(alg=alg)
    )
    assert response.status_code == 200


async def _assert_401(
    cds: CdsHarness, headers: dict[str, str], path: str = "/cds-services/medqc-discharge-qc"
) -> None:
    if path == "/cds-services":
        response = await cds.client.get(path, headers=headers)
    else:
        response = await cds.client.post(path, json=discharge_request(), headers=headers)
    assert response.status_code == 401
    assert response.content == b""  # bare: no reason given


async def test_wrong_key(cds: CdsHarness) -> None:
    other = ECKey.generate_key("P-384", parameters={"kid": "es-1"})  # same kid, different key
    await _assert_401(cds, cds.auth(key=other))


async def test_expired(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(exp_in=-600, iat_offset=-900))


async def test_issued_in_the_future(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(iat_offset=3600, exp_in=3700))


async def test_wrong_aud(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth("https://elsewhere.example.org/cds-services/medqc-discharge-qc"))


async def test_aud_of_another_endpoint(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(DISCOVERY_URL))
    await _assert_401(cds, cds.auth(DISCHARGE_URL), path="/cds-services")


async def test_hs256_is_rejected(cds: CdsHarness) -> None:
    secret = OctKey.generate_key(256, parameters={"kid": "es-1"})
    token = jwt.encode(
        {"alg": "HS256", "kid": "es-1"},
        {"iss": ISSUER, "aud": DISCHARGE_URL, "exp": 9999999999, "iat": 1, "jti": "x"},
        secret,
        algorithms=["HS256"],
    )
    await _assert_401(cds, {"Authorization": f"Bearer {token}"})


async def test_alg_none_is_rejected(cds: CdsHarness) -> None:
    now = int(time.time())
    header = _b64({"alg": "none", "typ": "JWT", "kid": "es-1"})
    payload = _b64({"iss": ISSUER, "aud": DISCHARGE_URL, "exp": now + 300, "iat": now, "jti": "n1"})
    await _assert_401(cds, {"Authorization": f"Bearer {header}.{payload}."})


async def test_replayed_jti(cds: CdsHarness) -> None:
    headers = cds.auth(jti="once-only")
    first = await cds.client.post(
        "/cds-services/medqc-discharge-qc", json=discharge_request(), headers=headers
    )
    assert first.status_code == 200
    await _assert_401(cds, headers)
    await _assert_401(cds, cds.auth(jti="once-only"))  # a new token reusing the jti


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
    ],
)
async def test_missing_or_malformed_header(cds: CdsHarness, headers: dict[str, str]) -> None:
    await _assert_401(cds, headers)
    await _assert_401(cds, headers, path="/cds-services")


async def test_unknown_issuer(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(iss="https://rogue.example.org/"))


async def test_missing_kid_and_wrong_typ(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(header={"typ": "at+jwt"}))
    await _assert_401(cds, cds.auth(header={"kid": ""}))


async def test_missing_claims(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(claims={"jti": ""}))
    await _assert_401(cds, cds.auth(claims={"exp": None}))
    await _assert_401(cds, cds.auth(claims={"tenant": 5}))


async def test_too_long_lifetime(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(exp_in=7 * 24 * 3600))


async def test_jku_not_on_allow_list(cds: CdsHarness) -> None:
    await _assert_401(cds, cds.auth(header={"jku": "https://attacker.example.org/jwks"}))


async def test_feedback_needs_a_token(cds: CdsHarness) -> None:
    response = await cds.client.post("/cds-services/medqc-discharge-qc/feedback", json={"feedback": []})
    assert response.status_code == 401


async def test_auth_off(cds_no_auth: CdsHarness) -> None:
    response = await cds_no_auth.client.get("/cds-services")
    assert response.status_code == 200


# --- unit: key sets, jku, replay cache ----------------------------------------------------------------


def _jwks_transport(keys: dict[str, list[ECKey]], hits: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in keys[str(request.url)]]})

    return httpx.MockTransport(handler)


async def test_jku_on_allow_list_and_refresh_on_unknown_kid(signer: Signer) -> None:
    url = "https://ehr.example.org/keys/jwks.json"
    old = ECKey.generate_key("P-384", parameters={"kid": "old"})
    new = ECKey.generate_key("P-384", parameters={"kid": "new"})
    served = {url: [old]}
    hits: list[str] = []
    async with httpx.AsyncClient(transport=_jwks_transport(served, hits)) as http:
        issuers = parse_issuers(json.dumps({ISSUER: {"jwks": str(signer.jwks_path), "jku": [url]}}))
        auth = CdsAuthenticator(issuers, jwks=JwksCache(http=http, min_refresh_s=0))
        token = signer.token(DISCHARGE_URL, key=old, header={"jku": url})
        client = await auth.authenticate(f"Bearer {token}", audiences=[DISCHARGE_URL])
        assert client.issuer == ISSUER
        assert client.tenant == "t1"
        served[url] = [old, new]  # key rotation at the EHR
        token = signer.token(DISCHARGE_URL, key=new, header={"jku": url})
        await auth.authenticate(f"Bearer {token}", audiences=[DISCHARGE_URL])
        assert len(hits) == 2
        token = signer.token(DISCHARGE_URL, key=old, header={"jku": url})
        await auth.authenticate(f"Bearer {token}", audiences=[DISCHARGE_URL])
        assert len(hits) == 2  # cached


async def test_unknown_kid_refresh_is_rate_limited(signer: Signer) -> None:
    url = "https://ehr.example.org/jwks"
    key = ECKey.generate_key("P-384", parameters={"kid": "k"})
    hits: list[str] = []
    async with httpx.AsyncClient(transport=_jwks_transport({url: [key]}, hits)) as http:
        auth = CdsAuthenticator(parse_issuers(json.dumps({ISSUER: url})), jwks=JwksCache(http=http))
        for _ in range(5):
            stranger = ECKey.generate_key("P-384", parameters={"kid": "unknown"})
            with pytest.raises(CdsUnauthorizedError):
                await auth.authenticate(
                    f"Bearer {signer.token(DISCHARGE_URL, key=stranger)}", audiences=[DISCHARGE_URL]
                )
        assert len(hits) == 1


async def test_jwks_file_missing_is_401(tmp_path: Path, signer: Signer) -> None:
    auth = CdsAuthenticator(parse_issuers(json.dumps({ISSUER: str(tmp_path / "absent.json")})))
    with pytest.raises(CdsUnauthorizedError):
        await auth.authenticate(f"Bearer {signer.token(DISCHARGE_URL)}", audiences=[DISCHARGE_URL])


def test_replay_cache_forgets_expired_entries() -> None:
    now = [1000.0]
    cache = ReplayCache(clock=lambda: now[0])
    assert cache.first_use("a", until=1010)
    assert not cache.first_use("a", until=1010)
    now[0] = 1011
    assert cache.first_use("b", until=1100)
    assert len(cache) == 1


def test_issuer_configuration() -> None:
    policies = parse_issuers(
        json.dumps({"a": "/etc/jwks.json", "b": {"jwks": "https://b/jwks", "jku": ["https://b/2"]}})
    )
    assert policies["a"].allowed_jku == frozenset()
    assert policies["b"].allowed_jku == {"https://b/jwks", "https://b/2"}
    with pytest.raises(ValueError, match="expected"):
        parse_issuers(json.dumps({"a": 5}))
