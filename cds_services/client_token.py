"""The EHR side of CDS Hooks authentication: an ES384 key, its JWKS, and signed client JWTs.

MedQC uses it to talk to itself (``medqc demo``, the benchmark); an EHR has its own.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey


@dataclass(frozen=True, slots=True)
class ClientIssuer:
    issuer: str
    key: ECKey

    @classmethod
    def generate(cls, issuer: str) -> ClientIssuer:
        return cls(issuer=issuer, key=ECKey.generate_key("P-384", parameters={"kid": uuid.uuid4().hex[:12]}))

    def write_jwks(self, path: Path) -> Path:
        """Write the public JWKS to ``path`` (for ``MEDQC_CDS_ISSUERS``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        public = self.key.as_dict(private=False)
        path.write_text(json.dumps({"keys": [{**public, "alg": "ES384", "use": "sig"}]}))
        return path

    def token(self, audience: str, *, lifetime_s: int = 300) -> str:
        now = int(time.time())
        header = {"alg": "ES384", "typ": "JWT", "kid": self.key.kid}
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(header, claims, self.key, algorithms=["ES384"])

    def headers(self, audience: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience)}"}
