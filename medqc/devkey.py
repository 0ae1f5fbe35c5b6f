"""The development EHR: a signing key on disk that local tools use to call the CDS service.

``medqc demo`` creates it (``MEDQC_CDS_DEV_KEY``, default ``var/dev-ehr-key.json``) with its public
JWKS beside it; ``medqc token`` signs client JWTs with it; the ``MEDQC_CDS_ISSUERS`` value that trusts it
is :func:`issuers_value`. For local testing only: a real EHR keeps its own key.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from cds_services.client_token import ClientIssuer

DEV_ISSUER = "urn:medqc:dev-ehr"


def jwks_path(key_path: Path) -> Path:
    """Where the public JWKS of the key at ``key_path`` is written."""
    return key_path.with_name(key_path.stem.removesuffix("-key") + "-jwks.json")


def create(key_path: Path) -> ClientIssuer:
    """A new ES384 key for :data:`DEV_ISSUER`, written (private, mode 0600) with its public JWKS."""
    issuer = ClientIssuer(DEV_ISSUER, ECKey.generate_key("P-384", parameters={"kid": uuid.uuid4().hex[:12]}))
    key_path.parent.mkdir(parents=True, exist_ok=True)
    document = {"issuer": DEV_ISSUER, "key": issuer.key.as_dict(private=True)}
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out)
    issuer.write_jwks(jwks_path(key_path))
    return issuer


def load(key_path: Path) -> ClientIssuer:
    """The key written by :func:`create`; ``FileNotFoundError`` when there is none, ``ValueError`` when
    the file is not such a key."""
    document = json.loads(key_path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("key"), dict):
        raise ValueError(f"{key_path} is not a MedQC development key")
    try:
        key = ECKey.import_key(document["key"])
    except (JoseError, TypeError, ValueError) as exc:
        raise ValueError(f"{key_path} is not a MedQC development key: {exc}") from exc
    if not key.is_private:
        raise ValueError(f"{key_path} holds no private key")
    return ClientIssuer(str(document.get("issuer") or DEV_ISSUER), key)


def load_or_create(key_path: Path) -> ClientIssuer:
    return load(key_path) if key_path.is_file() else create(key_path)


def issuers_value(issuer: ClientIssuer, key_path: Path) -> str:
    """The ``MEDQC_CDS_ISSUERS`` JSON that trusts ``issuer`` (its JWKS as an absolute file path)."""
    return json.dumps({issuer.issuer: str(jwks_path(key_path).resolve())})
