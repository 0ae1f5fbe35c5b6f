"""Browser sessions of the workstation: a signed, HttpOnly, SameSite=Lax cookie set by the login page.

The login page takes the same credentials the API accepts (the demo's static token, an OIDC access
token in production) and checks them with the same :class:`medqc.auth.Authenticator`; the cookie then
carries the principal (subject and SMART scopes), never the token. The cookie is a JWT signed with
HS256 under a key from ``MEDQC_SESSION_SECRET`` (or, for the demo, derived from the static token, so
every replica accepts it); it expires after ``MEDQC_SESSION_TTL_S`` or when the access token would.
A SMART launch (``launch``/``iss`` query parameters on the card link) is kept in the session.

Forms carry a CSRF token bound to the session (an HMAC of the session id) besides SameSite=Lax.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from starlette.types import Scope

from medqc.auth import Authenticator, Principal
from medqc.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "medqc_session"
PREFIX = "/review"
LOGIN_PATH = f"{PREFIX}/login"
#: Paths under /review a browser reaches without a session: the login page, the SMART launch and logout
#: (which only clears the cookie, so an expired session can still sign out).
PUBLIC = (LOGIN_PATH, f"{PREFIX}/launch", f"{PREFIX}/logout")
_AUDIENCE = "medqc-workstation"
_LAUNCH_MAX = 256


@dataclass(frozen=True, slots=True)
class Session:
    """The signed-in reviewer: who, what they may do, and the SMART launch they came from."""

    principal: Principal
    sid: str
    expires: int
    launch: str | None = None
    iss: str | None = None


def safe_next(target: str | None) -> str:
    """A local workstation path to go to after login (never another site: no open redirect).

    >>> safe_next("/review/Encounter/e1?x=1"), safe_next("https://evil.example/"), safe_next("//evil")
    ('/review/Encounter/e1?x=1', '/review', '/review')
    """
    if not target or not target.startswith(PREFIX) or target.startswith("//") or "\\" in target:
        return PREFIX
    return target


def launch_params(target: str) -> tuple[str | None, str | None]:
    """``launch`` and ``iss`` from the query string of a path (a SMART launch through the card link).

    >>> launch_params("/review/Encounter/e?launch=abc&iss=https%3A%2F%2Fehr.example%2Ffhir")
    ('abc', 'https://ehr.example/fhir')
    """
    query = target.partition("?")[2]
    values = dict(parse_qsl(query, max_num_fields=20))
    launch, iss = values.get("launch"), values.get("iss")
    return (launch[:_LAUNCH_MAX] if launch else None), (iss[:_LAUNCH_MAX] if iss else None)


class Sessions:
    """Issues and checks session cookies; plugs into :class:`medqc.auth.AuthMiddleware` for ``/review``."""

    def __init__(self, authenticator: Authenticator | None, *, key: bytes, ttl_s: int, secure: bool) -> None:
        self.authenticator = authenticator
        self._key = OctKey.import_key(hashlib.sha256(key).digest())
        self._csrf_key = hashlib.sha256(b"csrf|" + key).digest()
        self.ttl_s = ttl_s
        self.secure = secure

    @classmethod
    def from_settings(cls, settings: Settings, authenticator: Authenticator | None) -> Sessions:
        if settings.session_secret:
            key = settings.session_secret.encode()
        elif settings.fhir_access_token and not settings.auth_jwks_url:
            key = b"medqc-session|" + settings.fhir_access_token.encode()
        else:
            key = secrets.token_bytes(32)
            if authenticator is not None:
                log.warning(
                    "MEDQC_SESSION_SECRET is not set: workstation sessions end when this process does"
                )
        return cls(
            authenticator,
            key=key,
            ttl_s=settings.session_ttl_s,
            secure=settings.base_url.startswith("https://"),
        )

    # ---- the middleware's questions ---------------------------------------------------------------
    def is_public(self, path: str) -> bool:
        return path in PUBLIC

    def principal(self, scope: Scope) -> Principal | None:
        session = self.session_of(scope)
        return session.principal if session else None

    def login_location(self, scope: Scope) -> str | None:
        """Where a browser without a valid session goes (the login page, coming back here afterwards);
        None for API clients, which get the 401."""
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept", b"").decode("latin-1").lower()
        if scope.get("method") not in {"GET", "HEAD"} or "text/html" not in accept:
            return None
        target = str(scope.get("path", ""))
        query = bytes(scope.get("query_string") or b"").decode("latin-1")
        if query:
            target += "?" + query
        return f"{LOGIN_PATH}?{urlencode({'next': safe_next(target)})}"

    # ---- cookies ----------------------------------------------------------------------------------
    def session_of(self, scope: Scope) -> Session | None:
        raw = dict(scope.get("headers") or []).get(b"cookie", b"").decode("latin-1")
        if COOKIE not in raw:
            return None
        try:
            morsel = SimpleCookie(raw).get(COOKIE)
        except Exception:  # a malformed Cookie header is no session
            return None
        return self.verify(morsel.value) if morsel is not None else None

    def issue(self, principal: Principal, *, expires: int | None, launch: str | None, iss: str | None) -> str:
        now = int(time.time())
        limit = now + self.ttl_s
        claims: dict[str, object] = {
            "sub": principal.subject,
            "scope": " ".join(sorted(principal.scopes)),
            "sid": secrets.token_urlsafe(16),
            "aud": _AUDIENCE,
            "iat": now,
            "exp": min(limit, expires) if expires else limit,
        }
        if launch:
            claims["launch"] = launch[:_LAUNCH_MAX]
        if iss:
            claims["smart_iss"] = iss[:_LAUNCH_MAX]
        return jwt.encode({"alg": "HS256"}, claims, self._key)

    def verify(self, value: str) -> Session | None:
        try:
            token = jwt.decode(value, self._key, algorithms=["HS256"])
            jwt.JWTClaimsRegistry(
                aud={"essential": True, "value": _AUDIENCE}, exp={"essential": True}
            ).validate(token.claims)
        except (JoseError, ValueError):
            return None
        claims = token.claims
        scopes = str(claims.get("scope", "")).split()
        return Session(
            principal=Principal(subject=str(claims.get("sub", "")), scopes=frozenset(scopes)),
            sid=str(claims.get("sid", "")),
            expires=int(claims["exp"]),
            launch=_opt(claims.get("launch")),
            iss=_opt(claims.get("smart_iss")),
        )

    def cookie_header(self, value: str, *, max_age: int) -> str:
        parts = [f"{COOKIE}={value}", f"Path={PREFIX}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)

    def clear_header(self) -> str:
        return self.cookie_header("", max_age=0)

    # ---- CSRF -------------------------------------------------------------------------------------
    def csrf_token(self, session: Session | None) -> str:
        """The token forms of this session carry ("anonymous" when authentication is off)."""
        sid = session.sid if session else "anonymous"
        return hmac.new(self._csrf_key, sid.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token or "")


def _opt(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None
