"""DEQM ``$submit-data`` on Measure: MedQC as the receiving (regional) platform.

Each ``measureReport`` is validated (FHIR R4, a ``summary`` report of this Measure with a reporter
Organization and a period) and stored under the id derived from reporter + measure + period
(:func:`measures.reporting.identity.report_id`), so a resubmission replaces the figure it corrects and
never adds a second one. A report that says what the stored one says is not written again (its
version stays). All reports of one call are written in one transaction, or none is.

The answer is an OperationOutcome with one ``information`` issue per report:
``MeasureReport/<id> created | updated | unchanged``.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.measurereport import MeasureReport
from pydantic import ValidationError

from fhir_ops.errors import BusinessRuleViolation, FhirError, InvalidResource, NotFound
from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest
from fhir_ops.store.protocol import ResourceRepository
from measures.reporting.identity import IDENTIFIER_SYSTEM, content_digest, key_of, report_id

ACCEPTED_STATUS = frozenset({"complete", "pending"})

PARAMETERS = (
    OperationParam(
        "measureReport",
        "Resource",
        min=1,
        max="*",
        documentation="A summary MeasureReport of the Measure (DEQM summary profile), with reporter "
        "and period",
    ),
    OperationParam("return", "OperationOutcome", use="out", min=1, documentation="created/updated/unchanged"),
)


def _where(index: int, element: str | None = None) -> list[str]:
    base = f"Parameters.parameter[measureReport][{index}]"
    return [f"{base}.{element}" if element else base]


def check_report(report: dict[str, Any], measure: dict[str, Any], index: int) -> dict[str, Any]:
    """The report as it will be stored (id and identifier from its key), or a 422 saying what is wrong."""
    if report.get("resourceType") != "MeasureReport":
        raise InvalidResource("measureReport must carry a MeasureReport", expression=_where(index))
    try:
        MeasureReport.model_validate(report)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidResource(
            f"Invalid MeasureReport: {first.get('msg')} ({where})", expression=_where(index, where)
        ) from exc
    if report.get("type") != "summary":
        raise BusinessRuleViolation(
            "Only summary MeasureReports are accepted", expression=_where(index, "type")
        )
    if report.get("status") not in ACCEPTED_STATUS:
        raise BusinessRuleViolation("status must be complete or pending", expression=_where(index, "status"))
    url = str(report.get("measure", "")).split("|")[0]
    if url != measure.get("url"):
        raise BusinessRuleViolation(
            f"MeasureReport.measure is {url or 'missing'}, not this Measure ({measure.get('url')})",
            expression=_where(index, "measure"),
        )
    reporter = str((report.get("reporter") or {}).get("reference", ""))
    if not reporter.startswith("Organization/"):
        raise BusinessRuleViolation(
            "reporter must reference the reporting Organization", expression=_where(index, "reporter")
        )
    period = report.get("period") or {}
    if str(period.get("start", "")) > str(period.get("end", "~")):
        raise BusinessRuleViolation("period.start is after period.end", expression=_where(index, "period"))
    try:
        key = key_of(report)
    except FhirError as exc:
        raise InvalidResource(exc.diagnostics, expression=_where(index)) from exc
    identifiers = [i for i in report.get("identifier") or [] if i.get("system") != IDENTIFIER_SYSTEM]
    stored = {k: v for k, v in report.items() if k != "meta"}
    profiles = (report.get("meta") or {}).get("profile")
    if profiles:
        stored["meta"] = {"profile": profiles}
    stored["id"] = report_id(key)
    stored["identifier"] = [*identifiers, {"system": IDENTIFIER_SYSTEM, "value": key}]
    return stored


async def _target_measure(repo: ResourceRepository, request: OperationRequest) -> dict[str, Any]:
    if request.resource_id is not None:
        return await repo.read("Measure", request.resource_id)
    urls = {
        str(r.get("measure", "")).split("|")[0] for r in request.all("measureReport") if isinstance(r, dict)
    }
    if len(urls) != 1 or not next(iter(urls)):
        raise BusinessRuleViolation(
            "At the type level all measureReports must name the same Measure "
            "(or call Measure/{id}/$submit-data)",
            expression=["measureReport"],
        )
    found = await repo.search("Measure", [("url", next(iter(urls)))])
    if not found.matches:
        raise NotFound(
            f"Measure {next(iter(urls))} is not known to this platform", expression=["measureReport"]
        )
    return found.matches[0]


async def submit_data(
    repo: ResourceRepository, measure: dict[str, Any], reports: list[dict[str, Any]]
) -> dict[str, Any]:
    """Validate every report, then write the changed ones in one transaction; returns the OperationOutcome."""
    checked = [check_report(report, measure, i) for i, report in enumerate(reports)]
    ids = [r["id"] for r in checked]
    if len(set(ids)) != len(ids):
        raise BusinessRuleViolation(
            "Two measureReports have the same reporter, measure and period", expression=["measureReport"]
        )
    issues: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for stored in checked:
        try:
            current: dict[str, Any] | None = await repo.read("MeasureReport", stored["id"])
        except NotFound:
            current = None
        if current is not None and content_digest(current) == content_digest(stored):
            outcome = "unchanged"
        else:
            outcome = "created" if current is None else "updated"
            entries.append(
                {"resource": stored, "request": {"method": "PUT", "url": f"MeasureReport/{stored['id']}"}}
            )
        issues.append(
            {
                "severity": "information",
                "code": "informational",
                "details": {
                    "coding": [
                        {"system": "http://medqc.org/fhir/CodeSystem/submit-data-outcome", "code": outcome}
                    ]
                },
                "diagnostics": f"MeasureReport/{stored['id']} {outcome}",
                "expression": [f"MeasureReport/{stored['id']}"],
            }
        )
    if entries:
        await repo.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return {"resourceType": "OperationOutcome", "issue": issues}


async def submit_data_handler(request: OperationRequest) -> dict[str, Any]:
    repo: ResourceRepository = request.services.repo
    measure = await _target_measure(repo, request)
    return await submit_data(repo, measure, request.all("measureReport"))


OPERATION = Operation(
    code="submit-data",
    title="Submit Data",
    description="DEQM $submit-data: store summary MeasureReports of this Measure, keyed by reporter + "
    "measure + period (a resubmission replaces the stored report; an identical one changes nothing).",
    levels=("type", "instance"),
    resource_types=("Measure",),
    handler=submit_data_handler,
    parameters=PARAMETERS,
    affects_state=True,
)
