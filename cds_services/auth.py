"""CDS client authentication (CDS Hooks 2.0 "Trusting CDS Clients"): a signed JWT on every call.

Checks, in order: ``Authorization: Bearer``; header ``alg`` one the issuer allows, ``kid``, ``typ`` JWT;
``iss`` on the allow-list; the key set (configured JWKS, or ``jku`` when allowed for that issuer);
signature; ``aud`` exactly the URL called; ``exp``; ``iat``; ``jti`` not replayed. Any failure raises
:class:`CdsUnauthorizedError`, which the router answers with a bare 401. Tokens are never logged.

``MEDQC_CDS_ISSUERS`` is a JSON object: ``{"<iss>": "<JWKS URL or file path>"}`` or
``{"<iss>": {"jwks": "<URL or path>", "jku": ["<allowed jku URL>", ...], "algorithms": ["ES384", ...]}}``.
A JWKS URL is itself an allowed ``jku`` for its issuer. CDS Hooks requires ES384 and RS384; ES256 and
RS256 (what the HL7 sandbox and many EHRs sign with) are accepted too unless the issuer's
``algorithms`` narrows the list. Symmetric algorithms and ``none`` are never accepted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from cds_services.errors import CdsUnauthorizedError
from cds_services.jwks import JwksCache, ReplayCache, ReplayStore, is_url

logger = logging.getLogger(__name__)

#: The asymmetric algorithms an issuer may be configured with; all of them by default.
ALLOWED_ALGORITHMS: tuple[str, ...] = ("ES384", "RS384", "ES256", "RS256")
MAX_TOKEN_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class IssuerPolicy:
    issuer: str
    jwks: str
    allowed_jku: frozenset[str]
    algorithms: frozenset[str] = frozenset(ALLOWED_ALGORITHMS)


@dataclass(frozen=True, slots=True)
class CdsClient:
    """Who called, as proven by the JWT."""

    issuer: str
    jti: str
    subject: str | None = None
    tenant: str | None = None


def parse_issuers(raw: str) -> dict[str, IssuerPolicy]:
    """Parse ``MEDQC_CDS_ISSUERS``.

    >>> parse_issuers('{"https://ehr/": "https://ehr/jwks"}')["https://ehr/"].allowed_jku
    frozenset({'https://ehr/jwks'})
    >>> sorted(parse_issuers('{"s": {"jwks": "k.json", "algorithms": ["ES256"]}}')["s"].algorithms)
    ['ES256']
    """
    data = json.loads(raw or "{}")
    if not isinstance(data, dict):
        raise ValueError("MEDQC_CDS_ISSUERS must be a JSON object mapping iss to a JWKS location")
    policies: dict[str, IssuerPolicy] = {}
    for issuer, spec in data.items():
        algorithms: list[object] = list(ALLOWED_ALGORITHMS)
        if isinstance(spec, str):
            jwks, jku = spec, []
        elif isinstance(spec, dict) and isinstance(spec.get("jwks"), str):
            jwks, jku = spec["jwks"], list(spec.get("jku") or [])
            algorithms = list(spec.get("algorithms") or algorithms)
        else:
            raise ValueError(f"MEDQC_CDS_ISSUERS[{issuer!r}]: expected a string or an object with 'jwks'")
        unknown = [a for a in algorithms if a not in ALLOWED_ALGORITHMS]
        if unknown:
            raise ValueError(
                f"MEDQC_CDS_ISSUERS[{issuer!r}].algorithms: {unknown} not among {list(ALLOWED_ALGORITHMS)}"
            )
        allowed = {str(u) for u in jku} | ({jwks} if is_url(jwks) else set())
        policies[str(issuer)] = IssuerPolicy(
            issuer=str(issuer),
            jwks=jwks,
            allowed_jku=frozenset(allowed),
            algorithms=frozenset(str(a) for a in algorithms),
        )
    return policies


class CdsAuthenticator:
    def __init__(
        self,
        issuers: Mapping[str, IssuerPolicy],
        *,
        jwks: JwksCache | None = None,
        replay: ReplayStore | None = None,
        leeway_s: float = 60.0,
        max_lifetime_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = dict(issuers)
        self._jwks = jwks or JwksCache()
        self._replay: ReplayStore = replay or ReplayCache(clock=clock)
        self._leeway_s = leeway_s
        self._max_lifetime_s = max_lifetime_s
        self._clock = clock

    async def authenticate(self, authorization: str | None, *, audiences: Collection[str]) -> CdsClient:
        """Verify the ``Authorization`` header value for a call whose own URL is one of ``audiences``."""
        try:
            return await self._authenticate(authorization, audiences)
        except CdsUnauthorizedError as exc:
            logger.info("CDS client authentication failed: %s", exc.message)
            raise

    async def _authenticate(self, authorization: str | None, audiences: Collection[str]) -> CdsClient:
        token = _bearer(authorization)
        header, claims = _unverified(token)
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise CdsUnauthorizedError("alg not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise CdsUnauthorizedError("kid missing")
        if str(header.get("typ", "")).upper() != "JWT":
            raise CdsUnauthorizedError("typ must be JWT")
        issuer = claims.get("iss")
        policy = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if policy is None:
            raise CdsUnauthorizedError("issuer not allowed")
        if alg not in policy.algorithms:
            raise CdsUnauthorizedError("alg not allowed for this issuer")
        location = policy.jwks
        jku = header.get("jku")
        if jku is not None:
            if jku not in policy.allowed_jku:
                raise CdsUnauthorizedError("jku not allowed for this issuer")
            location = str(jku)
        keys = await self._jwks.key_set(location, kid=kid)
        try:
            verified = jwt.decode(token, keys, algorithms=[str(alg)])
        except (JoseError, ValueError) as exc:
            raise CdsUnauthorizedError(f"signature rejected: {type(exc).__name__}") from exc
        return await self._check_claims(dict(verified.claims), policy, audiences)

    async def _check_claims(
        self, claims: dict[str, Any], policy: IssuerPolicy, audiences: Collection[str]
    ) -> CdsClient:
        if claims.get("iss") != policy.issuer:
            raise CdsUnauthorizedError("issuer mismatch")
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        if not isinstance(aud, str) or aud not in audiences:
            raise CdsUnauthorizedError("aud is not this service's URL")
        now = self._clock()
        exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
        if exp is None or iat is None:
            raise CdsUnauthorizedError("exp and iat are required numbers")
        if exp + self._leeway_s < now:
            raise CdsUnauthorizedError("token expired")
        if iat - self._leeway_s > now:
            raise CdsUnauthorizedError("token issued in the future")
        if exp - now > self._max_lifetime_s:
            raise CdsUnauthorizedError("token lifetime too long")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise CdsUnauthorizedError("jti missing")
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise CdsUnauthorizedError("tenant must be a string")
        if not await self._replay.claim(f"{policy.issuer}\x00{jti}", until=exp + self._leeway_s):
            raise CdsUnauthorizedError("jti replayed")
        sub = claims.get("sub")
        return CdsClient(
            issuer=policy.issuer, jti=jti, subject=sub if isinstance(sub, str) else None, tenant=tenant
        )


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise CdsUnauthorizedError("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise CdsUnauthorizedError("Authorization is not a Bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise CdsUnauthorizedError("token too large")
    return token


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before verification: only to choose the issuer's keys."""
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        header = dict(compact.headers())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise CdsUnauthorizedError(f"malformed JWT: {type(exc).__name__}") from exc
    if not isinstance(claims, dict):
        raise CdsUnauthorizedError("JWT payload is not a JSON object")
    return header, claims
