"""Which data a hook call reads: its prefetch and fhirServer, or else the configured data source."""

from __future__ import annotations

import httpx

from cds_services.errors import CdsPreconditionFailedError
from cds_services.models import HookRequest
from cds_services.service import CdsService
from fhir_ops.data_access.prefetch import FhirServerClient, PrefetchSource
from fhir_ops.data_access.record import ClinicalDataSource


def select_source(
    service: CdsService,
    request: HookRequest,
    *,
    fallback: ClinicalDataSource | None,
    http: httpx.AsyncClient,
) -> ClinicalDataSource:
    if request.prefetch is None and request.fhirServer is None:
        if fallback is None:
            raise CdsPreconditionFailedError("no prefetch, no fhirServer, and no data source configured")
        return fallback
    server = None
    if request.fhirServer is not None:
        token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
        server = FhirServerClient(request.fhirServer, access_token=token, http=http)
    return PrefetchSource(
        templates=service.prefetch, context=request.context, prefetch=request.prefetch, server=server
    )
