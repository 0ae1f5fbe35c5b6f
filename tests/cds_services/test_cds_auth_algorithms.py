"""CDS client JWTs beyond the spec's ES384/RS384: ES256 and RS256 per issuer (the HL7 sandbox signs
ES256), and the ``aud`` a client derives from the URL it called when no public base URL is configured."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from cds_testkit import DISCHARGE_URL, ISSUER, Signer, discharge_request, make_harness
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from cds_services.auth import parse_issuers
from medqc.settings import Settings


def _token(key: ECKey | RSAKey, alg: str, aud: str, iss: str = ISSUER) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    token = jwt.encode({"alg": alg, "typ": "JWT", "kid": key.kid}, claims, key, algorithms=[alg])
    return {"Authorization": f"Bearer {token}"}


def _keys(tmp_path: Path) -> tuple[ECKey, RSAKey, Path]:
    p256 = ECKey.generate_key("P-256", parameters={"kid": "p256"})
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa"})
    path = tmp_path / "sandbox-jwks.json"
    path.write_text(json.dumps({"keys": [p256.as_dict(private=False), rsa.as_dict(private=False)]}))
    return p256, rsa, path


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
async def test_es256_and_rs256_from_a_configured_issuer(tmp_path: Path, signer: Signer, alg: str) -> None:
    p256, rsa, jwks = _keys(tmp_path)
    harness, close = await make_harness(
        tmp_path, signer, settings_overrides={"cds_issuers": json.dumps({ISSUER: str(jwks)})}
    )
    try:
        key = p256 if alg == "ES256" else rsa
        response = await harness.client.post(
            "/cds-services/medqc-discharge-qc",
            json=discharge_request(),
            headers=_token(key, alg, DISCHARGE_URL),
        )
        assert response.status_code == 200
    finally:
        await close()


async def test_an_issuer_can_narrow_its_algorithms(tmp_path: Path, signer: Signer) -> None:
    p256, rsa, jwks = _keys(tmp_path)
    issuers = {ISSUER: {"jwks": str(jwks), "algorithms": ["ES384", "RS256"]}}
    harness, close = await make_harness(
        tmp_path, signer, settings_overrides={"cds_issuers": json.dumps(issuers)}
    )
    try:
        refused = await harness.client.post(
            "/cds-services/medqc-discharge-qc",
            json=discharge_request(),
            headers=_token(p256, "ES256", DISCHARGE_URL),
        )
        assert refused.status_code == 401
        allowed = await harness.client.post(
            "/cds-services/medqc-discharge-qc",
            json=discharge_request(),
            headers=_token(rsa, "RS256", DISCHARGE_URL),
        )
        assert allowed.status_code == 200
    finally:
        await close()


def test_unknown_or_symmetric_algorithms_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="HS256"):
        parse_issuers(json.dumps({ISSUER: {"jwks": "k.json", "algorithms": ["HS256"]}}))


async def test_aud_as_the_client_saw_it(tmp_path: Path, signer: Signer) -> None:
    """With ``cds_audience_from_request`` the URL the client called is a valid ``aud``; the configured
    public URL stays valid, and any other URL is still refused."""
    overrides: dict[str, object] = {
        "base_url": "https://medqc.hospital.example",
        "cds_audience_from_request": True,
    }
    harness, close = await make_harness(tmp_path, signer, settings_overrides=overrides)
    try:
        for aud, status in [
            (DISCHARGE_URL, 200),  # http://testserver/..., as the client called it
            ("https://medqc.hospital.example/cds-services/medqc-discharge-qc", 200),
            ("https://elsewhere.example.org/cds-services/medqc-discharge-qc", 401),
        ]:
            response = await harness.client.post(
                "/cds-services/medqc-discharge-qc", json=discharge_request(), headers=harness.auth(aud)
            )
            assert response.status_code == status, aud
    finally:
        await close()


def test_aud_from_request_only_when_the_base_url_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDQC_BASE_URL", raising=False)
    monkeypatch.delenv("MEDQC_CDS_AUDIENCE_FROM_REQUEST", raising=False)
    assert Settings().cds_aud_from_request is True
    assert Settings(base_url="https://medqc.hospital.example").cds_aud_from_request is False
    configured = Settings(base_url="https://medqc.hospital.example", cds_audience_from_request=True)
    assert configured.cds_aud_from_request is True
