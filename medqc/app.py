"""The ASGI application: FHIR facade, CDS Hooks, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from agents.orchestration.versions import current_versions
from cds_services.cors import add_cds_cors
from cds_services.router import router as cds_router
from fhir_ops.errors import BadRequest, FhirError, NotFound, operation_outcome
from fhir_ops.http import build_router, error_response, fhir, method_not_allowed
from medqc.auth import AuthMiddleware, authenticator_from_settings
from medqc.observability import (
    BodySizeLimitMiddleware,
    ErrorBoundaryMiddleware,
    RequestContextMiddleware,
    configure_logging,
)
from medqc.operations import build_registry
from medqc.services import Services, build_services, cds_evaluator
from medqc.settings import Settings, get_settings
from medqc.temporal import TemporalRuntime
from medqc.workstation import Sessions
from medqc.workstation import router as workstation_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        app.state.settings = settings
        app.state.db = services.db
        app.state.data_source = services.data_source
        app.state.cds_evaluator = cds_evaluator(services)
        temporal = TemporalRuntime(settings, services.orchestrator)
        await temporal.start()
        try:
            yield
        finally:
            await temporal.stop()
            client = getattr(app.state, "http_client", None)
            if client is not None:
                await client.aclose()
            await services.close()

    app = FastAPI(
        title="MedQC",
        version="0.1.0",
        description="FHIR-native medical quality control: FHIR R4 facade, $evaluate-measure, $qc-evaluate "
        "and a CDS Hooks 2.0 encounter-discharge service.",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    authenticator = authenticator_from_settings(settings)
    app.state.workstation_sessions = Sessions.from_settings(settings, authenticator)
    if authenticator is not None:
        app.add_middleware(
            AuthMiddleware, authenticator=authenticator, sessions=app.state.workstation_sessions
        )
    app.add_middleware(ErrorBoundaryMiddleware)
    app.add_middleware(RequestContextMiddleware)
    add_cds_cors(app, settings)
    app.include_router(build_router(build_registry()))
    app.include_router(cds_router)
    app.include_router(workstation_router)
    from medqc.landing import router as landing_router  # GET /: what runs here, with links

    app.include_router(landing_router)
    _add_ops_routes(app)
    _add_error_handlers(app)
    return app


def _add_ops_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"], summary="The process is up, and the versions it judges with")
    async def healthz() -> dict[str, str | dict[str, str]]:
        return {"status": "ok", "versions": current_versions().as_dict()}

    @app.get(
        "/readyz", tags=["ops"], summary="The database answers", responses={503: {"description": "Not ready"}}
    )
    async def readyz(request: Request) -> Response:
        services: Services | None = getattr(request.app.state, "services", None)
        try:
            assert services is not None
            await services.db.probe()
        except Exception:
            return Response('{"status":"unavailable"}', status_code=503, media_type="application/json")
        return Response('{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def on_fhir_error(_request: Request, exc: FhirError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(
            BadRequest(f"{first.get('msg')} ({where})", expression=[where] if where else None)
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(NotFound("No such endpoint"))
        if exc.status_code == 405:
            return method_not_allowed(_request)
        return fhir(
            operation_outcome([{"severity": "error", "code": "processing", "diagnostics": str(exc.detail)}]),
            exc.status_code,
        )

    @app.exception_handler(Exception)
    async def on_unexpected(_request: Request, exc: Exception) -> Response:
        import logging

        logging.getLogger("medqc").exception("unhandled error", exc_info=exc)
        return fhir(
            operation_outcome([{"severity": "fatal", "code": "exception", "diagnostics": "Internal error"}]),
            500,
        )
