"""A tiny OAuth2 token endpoint for the platform in tests: SMART Backend Services client-credentials with a
signed JWT assertion, verified against the registered client's public key; it issues the platform's token."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import uvicorn
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from medqc.demo import free_port

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class TokenServer:
    """Issues ``access_token`` to ``client_id`` when its assertion verifies with ``client_jwks``."""

    client_id: str
    client_jwks: dict[str, object]
    access_token: str
    url: str = ""
    issued: int = 0
    refused: int = 0
    seen_jti: set[str] = field(default_factory=set)

    async def token(self, request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type") != ASSERTION_TYPE
        ):
            self.refused += 1
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            keys = KeySet.import_key_set(self.client_jwks)  # type: ignore[arg-type]
            token = jwt.decode(str(form.get("client_assertion")), keys, algorithms=["ES384"])
            claims = token.claims
            ok = (
                claims.get("iss") == claims.get("sub") == self.client_id
                and claims.get("aud") == self.url
                and float(claims.get("exp", 0)) > time.time()
                and claims.get("jti") not in self.seen_jti
            )
        except (JoseError, ValueError):
            ok = False
        if not ok:
            self.refused += 1
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        self.seen_jti.add(str(claims["jti"]))
        self.issued += 1
        return JSONResponse({"access_token": self.access_token, "token_type": "bearer", "expires_in": 300})


@contextmanager
def token_server(server: TokenServer) -> Iterator[TokenServer]:
    port = free_port()
    server.url = f"http://127.0.0.1:{port}/token"
    app = Starlette(routes=[Route("/token", server.token, methods=["POST"])])
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("token server did not start")
        time.sleep(0.05)
    try:
        yield server
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
