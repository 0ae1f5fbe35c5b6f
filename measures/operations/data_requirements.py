"""``$data-requirements`` on Measure and Library (instance level): the data the logic reads, as a
``module-definition`` Library (see :mod:`measures.data_requirements`)."""

from __future__ import annotations

from typing import Any

from fhir_ops.errors import BusinessRuleViolation
from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest

PARAMETERS = (
    OperationParam(
        "periodStart",
        "date",
        documentation="Start of the measurement period (accepted; the requirements do not depend on it)",
        also=("dateTime", "string"),
    ),
    OperationParam(
        "periodEnd",
        "date",
        documentation="End of the measurement period (accepted; the requirements do not depend on it)",
        also=("dateTime", "string"),
    ),
    OperationParam("return", "Library", use="out", min=1, documentation="A module-definition Library"),
)


async def data_requirements_handler(request: OperationRequest) -> dict[str, Any]:
    from measures.data_requirements import module_definition
    from measures.library_resolver import resolve_libraries
    from measures.measure_bundle import measure_expressions

    services = request.services
    assert request.resource_type is not None
    assert request.resource_id is not None
    resource = await services.repo.read(request.resource_type, request.resource_id)
    if request.resource_type == "Measure":
        libraries = resource.get("library") or []
        if not libraries:
            raise BusinessRuleViolation(
                f"Measure/{request.resource_id} names no Library", expression=["Measure.library"]
            )
        main = str(libraries[0])
        expressions: list[str] | None = measure_expressions(resource)
    else:
        url = resource.get("url")
        version = resource.get("version")
        main = f"{url}|{version}" if url and version else str(url or f"Library/{request.resource_id}")
        expressions = None
    resolved = await resolve_libraries(services.repo, main, engine=services.cql)
    return module_definition(resolved, expressions=expressions)


OPERATION = Operation(
    code="data-requirements",
    title="Data Requirements",
    description="The data a Measure's or a Library's logic reads (each retrieve's type, profile and "
    "value set), and the libraries and value sets it depends on, as a module-definition Library.",
    levels=("instance",),
    resource_types=("Measure", "Library"),
    handler=data_requirements_handler,
    parameters=PARAMETERS,
)
