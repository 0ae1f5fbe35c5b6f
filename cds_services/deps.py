"""FastAPI dependencies of the CDS router: everything comes from ``request.app.state``.

The app sets ``state.settings`` (:class:`medqc.settings.Settings`), ``state.db``
(:class:`medqc.db.Database`), ``state.data_source`` (a ClinicalDataSource), ``state.cds_evaluator``
(a :class:`cds_services.findings.Evaluator`) and, optionally, ``state.http_client`` (a shared
``httpx.AsyncClient``) and ``state.cds_authenticator``.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from cds_services.auth import CdsAuthenticator, CdsClient, parse_issuers
from cds_services.errors import CdsNotConfiguredError
from cds_services.findings import Evaluator
from cds_services.jwks import JwksCache
from cds_services.shared_cache import DbJwksStore, DbReplayCache
from fhir_ops.data_access.record import ClinicalDataSource
from fhir_ops.store.database import Database
from medqc.settings import Settings


def get_settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    if not isinstance(settings, Settings):
        raise CdsNotConfiguredError("app.state.settings is not set")
    return settings


def get_database(request: Request) -> Database:
    database = getattr(request.app.state, "db", None)
    if not isinstance(database, Database):
        raise CdsNotConfiguredError("app.state.db is not set")
    return database


def get_evaluator(request: Request) -> Evaluator | None:
    evaluator: Evaluator | None = getattr(request.app.state, "cds_evaluator", None)
    return evaluator


def get_data_source(request: Request) -> ClinicalDataSource | None:
    source: ClinicalDataSource | None = getattr(request.app.state, "data_source", None)
    return source


def get_http_client(request: Request) -> httpx.AsyncClient:
    """The app's shared client, else one created on first use and kept on ``app.state``."""
    client = getattr(request.app.state, "http_client", None)
    if not isinstance(client, httpx.AsyncClient):
        client = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        request.app.state.http_client = client
    return client


def get_authenticator(request: Request) -> CdsAuthenticator:
    authenticator = getattr(request.app.state, "cds_authenticator", None)
    if not isinstance(authenticator, CdsAuthenticator):
        settings = get_settings(request)
        database = get_database(request)  # replicas share the jti replay and JWKS caches through it
        authenticator = CdsAuthenticator(
            parse_issuers(settings.cds_issuers),
            jwks=JwksCache(http=get_http_client(request), store=DbJwksStore(database)),
            replay=DbReplayCache(database),
        )
        request.app.state.cds_authenticator = authenticator
    return authenticator


def service_url(settings: Settings, *parts: str) -> str:
    """Public URL of a CDS endpoint: the JWT ``aud`` the client must use for it."""
    return "/".join([settings.base_url.rstrip("/"), "cds-services", *parts])


def audiences(request: Request, *parts: str) -> list[str]:
    """The ``aud`` values accepted for a CDS endpoint: its configured public URL and, when the public
    base URL is not configured (``Settings.cds_aud_from_request``), the URL as the client called it."""
    settings = get_settings(request)
    accepted = [service_url(settings, *parts)]
    if settings.cds_aud_from_request:
        seen = "/".join([str(request.base_url).rstrip("/"), "cds-services", *parts])
        if seen not in accepted:
            accepted.append(seen)
    return accepted


async def _authenticate(request: Request, audiences: list[str]) -> CdsClient | None:
    settings = get_settings(request)
    if settings.cds_auth == "off":
        return None
    return await get_authenticator(request).authenticate(
        request.headers.get("authorization"), audiences=audiences
    )


async def discovery_client(request: Request) -> CdsClient | None:
    return await _authenticate(request, audiences(request))


async def service_client(request: Request, service_id: str) -> CdsClient | None:
    return await _authenticate(request, audiences(request, service_id))


async def feedback_client(request: Request, service_id: str) -> CdsClient | None:
    return await _authenticate(
        request, audiences(request, service_id, "feedback") + audiences(request, service_id)
    )


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
EvaluatorDep = Annotated[Evaluator | None, Depends(get_evaluator)]
DataSourceDep = Annotated[ClinicalDataSource | None, Depends(get_data_source)]
HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]
DiscoveryClientDep = Annotated[CdsClient | None, Depends(discovery_client)]
ServiceClientDep = Annotated[CdsClient | None, Depends(service_client)]
FeedbackClientDep = Annotated[CdsClient | None, Depends(feedback_client)]
