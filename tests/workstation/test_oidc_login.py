"""Production login: an OIDC access token (JWT from the identity provider's JWKS) opens a workstation
session, typed in or forwarded as ``Authorization: Bearer``; the session ends with the token and keeps
its SMART scopes; tokens the API refuses are refused here too."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from medqc.workstation.session import COOKIE
from tests.conftest import make_settings
from tests.support.live import live_server

ISSUER = "https://idp.example.org/"
AUDIENCE = "https://medqc.example.org/fhir"
SECRET = "workstation-session-secret-for-tests"


@pytest.fixture(scope="module")
def idp_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "idp-ws", "alg": "RS256", "use": "sig"})


@pytest.fixture(scope="module")
def oidc(tmp_path_factory: pytest.TempPathFactory, idp_key: RSAKey) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("oidc")
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps(KeySet([idp_key]).as_dict(private=False)))
    settings = make_settings(
        "sqlite",
        tmp,
        auth_jwks_url=str(jwks),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        session_secret=SECRET,
    )
    with live_server(settings) as base:
        yield base


def token(key: RSAKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "qc-nurse-7", "iat": now, "exp": now + 120, **claims}
    return jwt.encode({"alg": "RS256", "kid": "idp-ws"}, body, key)


def session_claims(response: httpx.Response) -> dict[str, Any]:
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    return dict(jwt.decode(value, _session_key()).claims)


def _session_key() -> OctKey:
    """The key the server signs sessions with (see medqc.workstation.session.Sessions)."""
    return OctKey.import_key(hashlib.sha256(SECRET.encode()).digest())


def test_an_oidc_token_typed_in_opens_a_session_that_ends_with_it(oidc: str, idp_key: RSAKey) -> None:
    access = token(idp_key, scope="user/*.read user/Task.write")
    response = httpx.post(f"{oidc}/review/login", data={"token": access, "next": "/review/rates"})
    assert response.status_code == 303
    claims = session_claims(response)
    assert claims["sub"] == "qc-nurse-7"
    assert set(claims["scope"].split()) == {"user/*.read", "user/Task.write"}
    assert claims["exp"] <= int(time.time()) + 120  # not past the access token
    cookie = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    page = httpx.get(f"{oidc}/review/rates", cookies={COOKIE: cookie}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "qc-nurse-7" in page.text


def test_a_token_forwarded_by_a_sign_in_proxy_opens_a_session(oidc: str, idp_key: RSAKey) -> None:
    response = httpx.post(
        f"{oidc}/review/login",
        data={"next": "/review"},
        headers={"Authorization": f"Bearer {token(idp_key, scope='user/*.read')}"},
    )
    assert response.status_code == 303
    assert session_claims(response)["sub"] == "qc-nurse-7"


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"scope": "patient/Observation.read"}, 403),  # may not read reports
        ({"scope": "user/*.read", "aud": "https://other.example/"}, 401),
        ({"scope": "user/*.read", "exp": int(time.time()) - 10}, 401),
    ],
)
def test_tokens_the_api_refuses_open_no_session(
    oidc: str, idp_key: RSAKey, claims: dict[str, Any], status: int
) -> None:
    response = httpx.post(f"{oidc}/review/login", data={"token": token(idp_key, **claims), "next": "/review"})
    assert response.status_code == status
    assert "set-cookie" not in response.headers
