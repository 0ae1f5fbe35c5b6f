"""Declare each FHIR operation once: routes, OperationDefinitions and the CapabilityStatement follow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fhir_ops.errors import BadRequest

Level = Literal["system", "type", "instance"]
OPERATION_BASE = "http://medqc.org/fhir/OperationDefinition"

#: FHIR data types a parameter may have, and the ``value[x]`` element that carries each.
_VALUE_ELEMENTS: dict[str, str] = {
    "string": "valueString",
    "boolean": "valueBoolean",
    "date": "valueDate",
    "dateTime": "valueDateTime",
    "code": "valueCode",
    "canonical": "valueCanonical",
    "uri": "valueUri",
    "Reference": "valueReference",
    "integer": "valueInteger",
    "Period": "valuePeriod",
}


@dataclass(frozen=True, slots=True)
class OperationParam:
    name: str
    type: str
    use: Literal["in", "out"] = "in"
    min: int = 0
    max: str = "1"
    documentation: str = ""
    #: Other types accepted on input (e.g. a canonical given as a string).
    also: tuple[str, ...] = ()


@dataclass(slots=True)
class OperationRequest:
    """A parsed invocation: parameters by name (values as JSON), target type and id, and app services."""

    operation: Operation
    resource_type: str | None
    resource_id: str | None
    params: dict[str, list[Any]]
    services: Any

    def one(self, name: str, default: Any = None) -> Any:
        values = self.params.get(name) or []
        return values[0] if values else default

    def all(self, name: str) -> list[Any]:
        return list(self.params.get(name) or [])


Handler = Callable[[OperationRequest], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class Operation:
    code: str
    title: str
    description: str
    levels: tuple[Level, ...]
    resource_types: tuple[str, ...]
    handler: Handler
    parameters: tuple[OperationParam, ...] = ()
    affects_state: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{OPERATION_BASE}/{self.id}"

    @property
    def id(self) -> str:
        return self.extra.get("id", self.code)  # type: ignore[no-any-return]

    def definition(self) -> dict[str, Any]:
        """This operation as an OperationDefinition resource."""
        return {
            "resourceType": "OperationDefinition",
            "id": self.id,
            "url": self.url,
            "version": "0.1.0",
            "name": "".join(p.capitalize() for p in self.code.replace("-", " ").split()),
            "title": self.title,
            "status": "active",
            "kind": "operation",
            "description": self.description,
            "affectsState": self.affects_state,
            "code": self.code,
            "resource": list(self.resource_types) or ["Resource"],
            "system": "system" in self.levels,
            "type": "type" in self.levels,
            "instance": "instance" in self.levels,
            "parameter": [
                {
                    "name": p.name,
                    "use": p.use,
                    "min": p.min,
                    "max": p.max,
                    "documentation": p.documentation,
                    "type": p.type if p.type != "Resource" else "Resource",
                }
                for p in self.parameters
            ],
        }

    def parse(self, body: dict[str, Any] | None, query: list[tuple[str, str]]) -> dict[str, list[Any]]:
        """Parameters from a ``Parameters`` body and/or the query string, checked against the definition."""
        declared = {p.name: p for p in self.parameters if p.use == "in"}
        values: dict[str, list[Any]] = {}
        for name, raw in query:
            if name.startswith("_") and name not in declared:
                continue  # _format and friends
            param = declared.get(name)
            if param is None:
                raise BadRequest(f"Unknown parameter '{name}' for ${self.code}", expression=[name])
            if param.type in {"Resource", "Bundle", "Reference", "Period"}:
                raise BadRequest(f"Parameter '{name}' of ${self.code} must be sent in a Parameters body")
            values.setdefault(name, []).append(_coerce_query(param, raw))
        if body is not None:
            if body.get("resourceType") != "Parameters":
                raise BadRequest(f"${self.code} expects a Parameters resource", expression=["resourceType"])
            for i, item in enumerate(body.get("parameter") or []):
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    raise BadRequest(
                        f"Parameters.parameter[{i}] has no name", expression=[f"Parameters.parameter[{i}]"]
                    )
                param = declared.get(item["name"])
                if param is None:
                    raise BadRequest(
                        f"Unknown parameter '{item['name']}' for ${self.code}",
                        expression=[f"Parameters.parameter[{i}]"],
                    )
                values.setdefault(param.name, []).append(_value_of(param, item, i))
        for param in declared.values():
            got = len(values.get(param.name, []))
            if got < param.min:
                raise BadRequest(
                    f"Parameter '{param.name}' is required by ${self.code}", expression=[param.name]
                )
            if param.max != "*" and got > int(param.max):
                raise BadRequest(
                    f"Parameter '{param.name}' may appear at most {param.max} time(s)",
                    expression=[param.name],
                )
        return values


def _coerce_query(param: OperationParam, raw: str) -> Any:
    if param.type == "boolean":
        if raw not in {"true", "false"}:
            raise BadRequest(f"Parameter '{param.name}' must be true or false", expression=[param.name])
        return raw == "true"
    if param.type == "integer":
        try:
            return int(raw)
        except ValueError as exc:
            raise BadRequest(f"Parameter '{param.name}' must be an integer", expression=[param.name]) from exc
    return raw


def _value_of(param: OperationParam, item: dict[str, Any], index: int) -> Any:
    where = [f"Parameters.parameter[{index}]"]
    if param.type in {"Resource", "Bundle"}:
        resource = item.get("resource")
        if not isinstance(resource, dict):
            raise BadRequest(f"Parameter '{param.name}' must carry a resource", expression=where)
        if param.type == "Bundle" and resource.get("resourceType") != "Bundle":
            raise BadRequest(f"Parameter '{param.name}' must be a Bundle", expression=where)
        return resource
    for type_ in (param.type, *param.also):
        element = _VALUE_ELEMENTS.get(type_)
        if element and element in item:
            value = item[element]
            if not _has_json_type(type_, value):
                break
            return value
    allowed = ", ".join(_VALUE_ELEMENTS[t] for t in (param.type, *param.also) if t in _VALUE_ELEMENTS)
    raise BadRequest(f"Parameter '{param.name}' needs {allowed}", expression=where)


def _has_json_type(fhir_type: str, value: Any) -> bool:
    """Whether a ``value[x]`` has the JSON shape of its FHIR type (a date is a string, a Period an object)."""
    if fhir_type == "boolean":
        return isinstance(value, bool)
    if fhir_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if fhir_type in _OBJECT_STRINGS:
        keys = _OBJECT_STRINGS[fhir_type]
        return isinstance(value, dict) and all(isinstance(value.get(k), str | None) for k in keys)
    return isinstance(value, str)


#: The string members of the complex types operations take.
_OBJECT_STRINGS = {"Reference": ("reference", "display", "type"), "Period": ("start", "end")}


class OperationRegistry:
    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}

    def register(self, operation: Operation) -> Operation:
        if operation.id in self._ops:
            raise ValueError(f"operation {operation.id} registered twice")
        self._ops[operation.id] = operation
        return operation

    def __iter__(self) -> Any:
        return iter(self._ops.values())

    def find(self, code: str, level: Level, resource_type: str | None) -> Operation | None:
        for op in self._ops.values():
            if (
                op.code == code
                and level in op.levels
                and (level == "system" or resource_type in op.resource_types)
            ):
                return op
        return None
