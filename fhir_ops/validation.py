"""Parse and validate FHIR R4 resources with ``fhir.resources.R4B``; errors name the element at fault."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from fhir_ops.errors import BadRequest, InvalidResource, NotFound
from fhir_ops.search.parameters import supported_types

_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

#: Nesting of JSON objects and arrays a request body may have (README "Reliability"): FHIR resources
#: stay far below it; ~450 levels of nested extensions overflowed the validator's recursion.
MAX_JSON_DEPTH = 100


def check_json(data: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """400 for a body nested deeper than ``max_depth`` or holding a NUL character in a key or string
    (PostgreSQL text cannot store NUL). Iterative, so hostile depth cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise BadRequest("Strings cannot contain the NUL character (U+0000)")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise BadRequest(f"The body is nested deeper than {max_depth} levels")
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(key, str) and "\x00" in key:
                raise BadRequest("Element names cannot contain the NUL character (U+0000)")
            stack.append((value, depth + 1))


@lru_cache(maxsize=256)
def model_class(resource_type: str) -> type[BaseModel]:
    """The R4B model of a resource type; NotFound for a type FHIR R4 does not define."""
    try:
        cls = get_fhir_model_class(resource_type)
    except (ValueError, KeyError, AttributeError) as exc:
        raise NotFound(f"Unknown resource type '{resource_type}'") from exc
    return cls


def check_supported_type(resource_type: str) -> None:
    if resource_type not in supported_types():
        model_class(resource_type)  # an unknown type is 404 …
        raise NotFound(f"Resource type '{resource_type}' is not supported by this server")  # … so is ours


def check_id(resource_id: str) -> None:
    if not _ID_RE.match(resource_id):
        raise BadRequest(
            f"Invalid resource id '{resource_id}': [A-Za-z0-9-.]{{1,64}} expected", expression=["id"]
        )


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith("function-") and "[" not in str(part):
            out += f".{part}" if out else str(part)
    return out


def validate_resource(data: Any, *, expected_type: str | None = None) -> dict[str, Any]:
    """Validate ``data`` as an R4 resource and return it (unchanged) as a dict.

    Raises BadRequest if it is not a JSON object with a resourceType, BadRequest if the resourceType does
    not match the URL, NotFound for an unknown type, and InvalidResource (422) listing every problem.
    """
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object (a FHIR resource)")
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise BadRequest("The resource has no resourceType", expression=["resourceType"])
    if expected_type is not None and resource_type != expected_type:
        raise BadRequest(
            f"resourceType '{resource_type}' does not match the URL's type '{expected_type}'",
            expression=["resourceType"],
        )
    cls = model_class(resource_type)
    try:
        cls.model_validate(data)
    except ValidationError as exc:
        issues: list[dict[str, Any]] = [
            {
                "severity": "error",
                "code": "structure",
                "diagnostics": err["msg"],
                "expression": [f"{resource_type}.{_location(err['loc'])}".rstrip(".")],
            }
            for err in exc.errors()[:20]
        ]
        first = issues[0]
        error = InvalidResource(
            f"Invalid {resource_type}: {first['diagnostics']}",
            expression=list(first["expression"]),
            issues=issues[1:],
        )
        error.kinds = tuple(str(err["type"]) for err in exc.errors())
        raise error from exc
    return data
