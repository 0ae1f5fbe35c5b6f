"""What every workstation page shares: templates, the signed-in reviewer, CSRF-checked forms, scopes."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fhir_ops.errors import BadRequest, FhirError
from fhir_ops.store.sql_repository import SqlRepository
from medqc.auth import Principal, allows
from medqc.services import Services
from medqc.workstation.session import Session, Sessions

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
#: The largest form a page posts (a draft discharge summary being edited is the largest).
FORM_MAX_BYTES = 512 * 1024
FORM_MAX_FIELDS = 20
#: What a workstation route may answer (errors are an OperationOutcome, or an HTML page for browsers).
RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "Redirect: to the login page, or to the page after a form"},
    400: {"description": "Invalid parameters or form"},
    401: {"description": "No valid credentials"},
    403: {"description": "The scopes or the form's CSRF token do not allow it"},
    404: {"description": "No such encounter, report or note"},
    409: {"description": "The draft is already signed off"},
    410: {"description": "The resource was deleted"},
    412: {"description": "Changed since it was read (If-Match)"},
}
#: Who acts when authentication is off (a development server).
ANONYMOUS = Principal(subject="anonymous (authentication off)", scopes=frozenset({"system/*.*"}))


class Forbidden(FhirError):
    status = 403
    code = "forbidden"


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    session: Session | None
    csrf: str

    @property
    def name(self) -> str:
        return self.principal.subject or "unknown"

    def require(self, resource_type: str) -> None:
        """403 unless the reviewer's scopes allow writing ``resource_type``."""
        if not allows(self.principal.scopes, resource_type, "write"):
            raise Forbidden(f"Your scopes do not allow writing {resource_type}")


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.workstation_sessions
    return sessions


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def repo_of(request: Request) -> SqlRepository:
    return services_of(request).repo


def viewer(request: Request) -> Viewer:
    sessions = sessions_of(request)
    session = sessions.session_of(request.scope)
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        principal = session.principal if session else ANONYMOUS
    return Viewer(principal=principal, session=session, csrf=sessions.csrf_token(session))


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    who = viewer(request)
    html = ENV.get_template(template).render(viewer=who, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def form(request: Request, *, check_csrf: bool = True) -> dict[str, str]:
    """The posted form (``application/x-www-form-urlencoded``), its CSRF token checked."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise BadRequest("Expected a form (application/x-www-form-urlencoded)")
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise BadRequest(f"The form is larger than {FORM_MAX_BYTES} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=FORM_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The form is not valid UTF-8 form data") from exc
    fields = dict(pairs)
    if check_csrf:
        sessions = sessions_of(request)
        if not sessions.csrf_ok(sessions.session_of(request.scope), fields.get("csrf")):
            raise Forbidden("The form's CSRF token is missing or stale: reload the page")
    return fields


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "").lower()


class PageRoute(APIRoute):
    """FHIR errors of a page become an HTML error page for browsers (an OperationOutcome for the rest)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except FhirError as exc:
                if not wants_html(request):
                    raise
                return page(
                    request, "ws_error.html.j2", status=exc.status, error=exc.diagnostics, code=exc.status
                )

        return route
