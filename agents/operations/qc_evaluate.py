"""``$qc-evaluate``: judge an encounter against the indicator catalog (facts → rules), with evidence.

Facts are verified (coded data, then the notes), stated as fact Observations, and the indicators' CQL
judges the encounter over the record and those Observations. Instance level
(``Encounter/{id}/$qc-evaluate``) reads the encounter from the configured data source and keeps the fact
Observations and the reports in the store (``MeasureReport/qc-<encounter>-<measure>``), where the review
page and ``$evaluate-measure`` find them. System level (``$qc-evaluate``) judges the Bundle it is given
and stores nothing.
"""

from __future__ import annotations

from typing import Any

from agents.operations.common import RECORD_PARAMETERS, record_of
from agents.orchestration.runs import qc_evaluate
from fhir_ops.errors import NotFound
from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest
from measures.catalog import spec_for
from measures.catalog.schema import IndicatorSpec

PARAMETERS = (
    *RECORD_PARAMETERS,
    OperationParam(
        "measure",
        "string",
        max="*",
        also=("canonical",),
        documentation="Measure/x, a canonical url or a CMQCIC key (default: every measure whose denominator "
        "the encounter may belong to)",
    ),
    OperationParam(
        "denominatorAsserted",
        "boolean",
        documentation="The caller already placed the encounter in the denominator: judge only the numerator",
    ),
    OperationParam("return", "Bundle", use="out", min=1, documentation="Individual MeasureReports"),
)


def resolve_measures(values: list[str]) -> list[IndicatorSpec] | None:
    if not values:
        return None
    specs = []
    for value in values:
        key = value.split("|")[0] if "://" in value else value.removeprefix("Measure/")
        spec = spec_for(key)
        if spec is None:
            raise NotFound(f"No catalog measure '{value}'", expression=["measure"])
        specs.append(spec)
    return specs


async def qc_evaluate_handler(request: OperationRequest) -> dict[str, Any]:
    services = request.services
    measures = resolve_measures([str(v) for v in request.all("measure")])
    asserted = bool(request.one("denominatorAsserted", False))
    record = await record_of(request, encounter_required=False)
    return await qc_evaluate(
        services.orchestrator,
        record,
        measures=measures,
        denominator_asserted=asserted,
        stored=request.resource_id is not None,
    )


OPERATION = Operation(
    code="qc-evaluate",
    title="Quality-control evaluation of an encounter",
    description="Judge an encounter against the national single-disease quality-control indicators: each "
    "indicator's facts are verified (coded data first, then the notes) with evidence and stated as fact "
    "Observations (profile qc-fact-observation), and the indicator's CQL Library judges the encounter. "
    "Returns a Bundle of individual MeasureReports with the fact Observations contained; at instance level "
    "the Observations and reports are stored.",
    levels=("system", "instance"),
    resource_types=("Encounter",),
    handler=qc_evaluate_handler,
    parameters=PARAMETERS,
    affects_state=False,
)
