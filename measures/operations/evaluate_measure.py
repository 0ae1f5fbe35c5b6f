"""``$evaluate-measure`` (FHIR R4 Measure operation) over the embedded store."""

from __future__ import annotations

from typing import Any

from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest

PARAMETERS = (
    OperationParam(
        "periodStart",
        "date",
        min=0,
        documentation="Start of the measurement period (date or dateTime; '2024' = the year)",
        also=("dateTime", "string"),
    ),
    OperationParam(
        "periodEnd", "date", min=0, documentation="End of the measurement period", also=("dateTime", "string")
    ),
    OperationParam(
        "measure", "string", documentation="Type level: the Measure id or canonical url", also=("canonical",)
    ),
    OperationParam(
        "reportType", "code", documentation="subject | subject-list | population", also=("string",)
    ),
    OperationParam("subject", "string", documentation="Patient/x or Group/y", also=("Reference",)),
    OperationParam("return", "MeasureReport", use="out", min=1, documentation="The MeasureReport"),
)


async def evaluate_measure_handler(request: OperationRequest) -> dict[str, Any]:
    from measures.evaluate import evaluate_measure, load_measure
    from measures.period import parse_period

    subject = request.one("subject")
    if isinstance(subject, dict):
        subject = subject.get("reference")
    measure = request.one("measure")
    measure_id = request.resource_id
    measure_url = None
    if measure_id is None and measure is not None:
        if "://" in measure:
            measure_url = measure
        else:
            measure_id = measure.removeprefix("Measure/")
    if measure_id is None and measure_url is None:
        from fhir_ops.errors import BadRequest

        raise BadRequest("Parameter 'measure' is required at the type level", expression=["measure"])
    services = request.services
    measure_resource = await load_measure(services.repo, measure_id=measure_id, measure_url=measure_url)
    period = parse_period(
        request.one("periodStart"), request.one("periodEnd"), default=measure_resource.get("effectivePeriod")
    )
    # A catalog indicator reads fact Observations: the app judges the period's encounters first.
    candidates = await services.before_rating(measure_resource, period)
    return await evaluate_measure(
        services.repo,
        measure_id=measure_id,
        measure_url=measure_url,
        period_start=request.one("periodStart"),
        period_end=request.one("periodEnd"),
        report_type=request.one("reportType"),
        subject=subject,
        cql=services.cql,
        candidates=candidates,
    )


OPERATION = Operation(
    code="evaluate-measure",
    title="Evaluate Measure",
    description="Calculate a Measure for a period and a subject or population, with the reference CQL "
    "engine (fqm-execution); returns an individual, subject-list or summary MeasureReport.",
    levels=("type", "instance"),
    resource_types=("Measure",),
    handler=evaluate_measure_handler,
    parameters=PARAMETERS,
)
