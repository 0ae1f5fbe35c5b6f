"""FastAPI adapter of the CDS Hooks service: ``router`` (prefix ``/cds-services``).

Include it with ``app.include_router(cds_services.router.router)``. Errors of these paths are answered
here (a custom route class), so the app needs no extra exception handler: :class:`CdsError` → its
status and a JSON message (401: empty body); a data-access error → 412.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from cds_services.cards import CardContext
from cds_services.deps import (
    DatabaseDep,
    DataSourceDep,
    DiscoveryClientDep,
    EvaluatorDep,
    FeedbackClientDep,
    HttpClientDep,
    ServiceClientDep,
    SettingsDep,
)
from cds_services.discovery import SERVICES, discovery_document
from cds_services.errors import CdsError, CdsPreconditionFailedError, CdsServiceNotFoundError
from cds_services.feedback import record_feedback
from cds_services.metrics import CARDS_TOTAL, HOOK_SECONDS
from cds_services.models import FeedbackRequest, HookResponse
from cds_services.repository import record_issued_cards
from cds_services.service import CdsService, HookCall
from cds_services.sources import select_source
from cds_services.validation import parse_hook_request, parse_json, parse_model
from fhir_ops.errors import FhirError

logger = logging.getLogger(__name__)


class CdsRoute(APIRoute):
    """Answers :class:`CdsError` and data-access :class:`FhirError` the CDS Hooks way."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except CdsError as exc:
                return cds_error_response(exc)
            except FhirError as exc:
                failure = CdsPreconditionFailedError(f"required data unavailable: {exc.diagnostics}")
                return cds_error_response(failure)

        return route


def cds_error_response(exc: CdsError) -> Response:
    body = exc.body()
    if body is None:
        return Response(status_code=exc.status)
    return JSONResponse(body, status_code=exc.status)


_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request", **_ERROR},
    401: {"description": "Missing or invalid client JWT (empty body)"},
    404: {"description": "No such CDS service", **_ERROR},
    412: {"description": "Required data could not be obtained", **_ERROR},
    503: {"description": "The service is not ready", **_ERROR},
}
router = APIRouter(prefix="/cds-services", tags=["cds-hooks"], route_class=CdsRoute, responses=_RESPONSES)


@router.get("", response_model=None)
async def discovery(_client: DiscoveryClientDep) -> dict[str, Any]:
    return discovery_document().wire()


def _service(service_id: str) -> CdsService:
    service = SERVICES.get(service_id)
    if service is None:
        raise CdsServiceNotFoundError(f"no CDS service {service_id!r}")
    return service


@router.post("/{service_id}", response_model=None)
async def call_service(
    *,
    service_id: str,
    request: Request,
    _client: ServiceClientDep,
    settings: SettingsDep,
    database: DatabaseDep,
    evaluator: EvaluatorDep,
    data_source: DataSourceDep,
    http: HttpClientDep,
) -> Response:
    service = _service(service_id)
    started = time.perf_counter()
    status = "200"
    try:
        hook = parse_hook_request(service, await request.body())
        context = hook.context
        encounter = context.get("encounterId")
        call = HookCall(
            service_id=service.id,
            request=hook,
            source=select_source(service, hook, fallback=data_source, http=http),
            database=database,
            cards=CardContext(
                base_url=settings.base_url,
                patient_id=str(context["patientId"]),
                encounter_id=encounter if isinstance(encounter, str) and encounter else None,
                user_id=str(context.get("userId") or "") or None,
                smart_launch_url=settings.cds_smart_launch_url,
            ),
            evaluator=evaluator,
        )
        outcome = await service.handler(call)
        evaluated = call.cards.encounter_id if service.hook == "encounter-discharge" else None
        async with database.writer() as session:
            await record_issued_cards(
                session,
                service_id=service.id,
                hook_instance=hook.hookInstance,
                patient_id=call.cards.patient_id,
                evaluated_encounter=evaluated,
                issued=outcome.issued,
                now=datetime.now(UTC),
            )
            await session.commit()
        for item in outcome.issued:
            CARDS_TOTAL.labels(service=service.id, indicator=item.card.indicator).inc()
        # the wire form is plain JSON already: encoded once by orjson, not walked by jsonable_encoder
        wire = HookResponse(cards=[i.card for i in outcome.issued]).wire()
        return Response(orjson.dumps(wire), media_type="application/json")
    except CdsError as exc:
        status = str(exc.status)
        raise
    except FhirError:
        status = "412"
        raise
    finally:
        HOOK_SECONDS.labels(service=service.id, status=status).observe(time.perf_counter() - started)


@router.post("/{service_id}/feedback", response_model=None)
async def feedback(
    *, service_id: str, request: Request, _client: FeedbackClientDep, database: DatabaseDep
) -> dict[str, Any]:
    service = _service(service_id)
    body = parse_model(FeedbackRequest, parse_json(await request.body()), what="feedback request")
    stored = await record_feedback(database, service_id=service.id, request=body)
    logger.info("CDS feedback stored: service=%s entries=%d new=%d", service.id, len(body.feedback), stored)
    return {}
