"""CORS for browser-based EHR sandboxes, on the ``/cds-services`` paths only.

``MEDQC_CDS_CORS_ORIGINS``: ``*``, a comma-separated list of origins, or a JSON array; empty disables.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from medqc.settings import Settings

CDS_PREFIX = "/cds-services"


def parse_origins(raw: str) -> list[str]:
    """
    >>> parse_origins("https://a.org, https://b.org")
    ['https://a.org', 'https://b.org']
    >>> parse_origins('["*"]')
    ['*']
    """
    raw = raw.strip()
    if raw.startswith("["):
        return [str(o).strip() for o in json.loads(raw) if str(o).strip()]
    return [o.strip() for o in raw.split(",") if o.strip()]


class PathScopedCORS:
    """Starlette's CORSMiddleware applied to requests under one path prefix, others passed through."""

    def __init__(self, app: ASGIApp, *, prefix: str, origins: list[str]) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == self.prefix or path.startswith(self.prefix + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def add_cds_cors(app: FastAPI, settings: Settings) -> None:
    """Add the CDS CORS middleware to ``app`` (call before the app starts)."""
    origins = parse_origins(settings.cds_cors_origins)
    if origins:
        app.add_middleware(PathScopedCORS, prefix=CDS_PREFIX, origins=origins)
