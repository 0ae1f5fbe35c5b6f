"""One authentication for ``/fhir`` and ``/review``: a static bearer token (the demo) or OAuth2/OIDC
bearer JWTs checked against the identity provider's JWKS with SMART scopes (production).

- No credentials, a wrong token, a bad signature, issuer, audience or an expired token → 401 with
  ``WWW-Authenticate: Bearer`` (``error="invalid_token"`` when a token was sent).
- A valid token whose scopes do not cover the interaction → 403 (``error="insufficient_scope"``).
  Reads (GET, ``_search``, operations) need ``<context>/<Type>.read`` (SMART v1) or ``.r``/``.s``
  (v2); writes (create, update, delete, transactions) need ``.write`` or ``.c``/``.u``/``.d``; ``*``
  matches any type. The review pages read MeasureReports.
- The scheme is case-insensitive (``bearer`` as the CDS endpoints accept it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from starlette.types import ASGIApp, Receive, Scope, Send

from cds_services.errors import CdsUnauthorizedError
from cds_services.jwks import JwksCache
from medqc.observability import send_outcome
from medqc.settings import Settings

Access = Literal["read", "write"]
#: Signature algorithms accepted from the identity provider.
ALGORITHMS = ("RS256", "RS384", "ES256", "ES384", "PS256")
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)$")


class AuthError(Exception):
    """Why a request is refused (logged as its class and this text, never the token)."""

    def __init__(self, text: str, *, status: int = 401, scope: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.status = status
        self.scope = scope


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> Principal: ...


class StaticToken:
    """The demo: one shared secret, allowed everything."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def authenticate(self, token: str) -> Principal:
        if not secrets.compare_digest(token.encode(), self._token):
            raise AuthError("The bearer token is not valid")
        return Principal(subject="static-token", scopes=frozenset({"system/*.*"}))


class JwtBearer:
    """OAuth2/OIDC access tokens (JWT) signed by a key of the issuer's JWKS, for this audience."""

    def __init__(self, *, jwks_url: str, issuer: str, audience: str, http: httpx.AsyncClient | None = None):
        self._location = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._jwks = JwksCache(http=http, timeout_s=5.0)

    async def authenticate(self, token: str) -> Principal:
        try:
            header = dict(jws.extract_compact(token.encode("ascii")).headers())
        except (JoseError, ValueError, UnicodeError) as exc:
            raise AuthError("The bearer token is not a JWT") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS or not isinstance(kid, str):
            raise AuthError("The token's alg or kid is not acceptable")
        try:
            keys = await self._jwks.key_set(self._location, kid=kid)
            verified = jwt.decode(token, keys, algorithms=[str(alg)])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
            ).validate(verified.claims)
        except (CdsUnauthorizedError, JoseError, ValueError) as exc:
            raise AuthError(f"The token was rejected ({type(exc).__name__})") from exc
        claims = verified.claims
        raw = claims.get("scope", claims.get("scp", ""))
        listed = raw if isinstance(raw, list) else []
        scopes = raw.split() if isinstance(raw, str) else [s for s in listed if isinstance(s, str)]
        return Principal(subject=str(claims.get("sub", "")), scopes=frozenset(scopes))


def allows(scopes: Collection[str], resource_type: str, access: Access) -> bool:
    """Whether SMART scopes cover ``access`` to ``resource_type`` (``*``: a system-wide interaction).

    >>> allows({"user/*.read"}, "Patient", "read"), allows({"user/*.read"}, "Patient", "write")
    (True, False)
    >>> allows({"system/Measure.rs"}, "Measure", "read"), allows({"system/Measure.rs"}, "*", "read")
    (True, False)
    """
    for scope in scopes:
        match = _SCOPE.match(scope)
        if not match or match[2] not in {"*", resource_type}:
            continue
        permission = match[3]
        if permission in {"*", access}:
            return True
        if permission not in {"read", "write"}:  # SMART v2 letters
            wanted = set("rs") if access == "read" else set("cud")
            if wanted & set(permission):
                return True
    return False


def requirement(method: str, path: str) -> tuple[str, Access] | None:
    """The resource type and access a request needs; None when any authenticated caller may proceed.

    >>> requirement("GET", "/fhir/Patient/1"), requirement("POST", "/fhir")
    (('Patient', 'read'), ('*', 'write'))
    >>> requirement("POST", "/fhir/Condition/_search"), requirement("GET", "/review/Encounter/e")
    (('Condition', 'read'), ('MeasureReport', 'read'))
    """
    if path.startswith("/review"):
        return "MeasureReport", "read"
    parts = [p for p in path.removeprefix("/fhir").split("/") if p]
    if not parts:
        return ("*", "write") if method == "POST" else None
    if parts[0] == "metadata":
        return None
    if parts[0].startswith("$"):
        return "*", "read"
    reading = method in {"GET", "HEAD"} or parts[-1] == "_search" or parts[-1].startswith("$")
    return parts[0], "read" if reading else "write"


def authenticator_from_settings(settings: Settings) -> Authenticator | None:
    """JWT bearer when a JWKS is configured, else the static token, else None (no authentication)."""
    if settings.auth_jwks_url:
        if not settings.auth_issuer or not settings.auth_audience:
            raise ValueError("MEDQC_AUTH_JWKS_URL needs MEDQC_AUTH_ISSUER and MEDQC_AUTH_AUDIENCE")
        return JwtBearer(
            jwks_url=settings.auth_jwks_url, issuer=settings.auth_issuer, audience=settings.auth_audience
        )
    if settings.fhir_access_token:
        return StaticToken(settings.fhir_access_token)
    return None


class BrowserSessions(Protocol):
    """Browser access to ``/review`` (the workstation's session cookie, :mod:`medqc.workstation.session`)."""

    def is_public(self, path: str) -> bool: ...
    def principal(self, scope: Scope) -> Principal | None: ...
    def login_location(self, scope: Scope) -> str | None: ...


class AuthMiddleware:
    """Puts ``/fhir`` and ``/review`` behind an :class:`Authenticator`. Under ``/review`` a browser may
    instead hold a session cookie, and a browser without credentials is redirected to the login page
    (API clients still get the 401). The principal is left in ``request.state.principal``."""

    PROTECTED = ("/fhir", "/review")

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, sessions: BrowserSessions | None = None
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(self.PROTECTED):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.strip().partition(" ")
        browser = self.sessions if path.startswith("/review") else None
        if browser is not None and browser.is_public(path):
            await self.app(scope, receive, send)
            return
        try:
            session = browser.principal(scope) if browser is not None and not header.strip() else None
            if session is not None:
                principal = session
            elif scheme.lower() != "bearer" or not token.strip():
                raise AuthError("A bearer token is required")
            else:
                principal = await self.authenticator.authenticate(token.strip())
            needed = requirement(str(scope["method"]), path)
            if needed is not None and not allows(principal.scopes, *needed):
                wanted = f"{needed[0]}.{needed[1]}"
                raise AuthError(f"The token's scopes do not allow {wanted}", status=403, scope=wanted)
        except AuthError as exc:
            location = browser.login_location(scope) if browser is not None and exc.status == 401 else None
            if location is not None:
                await _redirect(send, location)
                return
            await send_outcome(send, exc.status, *_challenge(exc, bool(token)))
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def _challenge(exc: AuthError, had_token: bool) -> tuple[str, str, list[tuple[bytes, bytes]]]:
    if exc.status == 403:
        value = f'Bearer error="insufficient_scope", scope="{exc.scope}"'
        return "forbidden", exc.text, [(b"www-authenticate", value.encode())]
    value = 'Bearer error="invalid_token"' if had_token else "Bearer"
    return "login", exc.text, [(b"www-authenticate", value.encode())]
