"""Parse and check a hook request against the service it was sent to (→ 400 with a clear message)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cds_services.errors import CdsBadRequestError
from cds_services.models import HookRequest
from cds_services.service import CdsService

M = TypeVar("M", bound=BaseModel)


def parse_json(body: bytes) -> Any:
    if not body:
        raise CdsBadRequestError("the request body is empty; a JSON object is required")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CdsBadRequestError(f"the request body is not valid JSON: {exc}") from exc


def parse_model(model: type[M], data: Any, *, what: str) -> M:
    if not isinstance(data, dict):
        raise CdsBadRequestError(f"the {what} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CdsBadRequestError(f"invalid {what}: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    """One line per problem, ``location: message``, without echoing input values (tokens)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_hook_request(service: CdsService, body: bytes) -> HookRequest:
    request = parse_model(HookRequest, parse_json(body), what="hook request")
    if request.hook != service.hook:
        raise CdsBadRequestError(f"service {service.id!r} serves hook {service.hook!r}, not {request.hook!r}")
    missing = [
        name
        for name in service.required_context
        if not isinstance(request.context.get(name), str) or not request.context[name].strip()
    ]
    if missing:
        names = ", ".join(missing)
        raise CdsBadRequestError(f"context must carry {names} (non-empty strings) for hook {service.hook!r}")
    return request
