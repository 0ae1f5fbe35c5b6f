"""DEQM ``$care-gaps`` (Measure, type level): a Gaps in Care Bundle per patient of ``subject`` for the
period, listing the proportion measures whose gaps have the requested ``status`` (see
:mod:`measures.care_gaps`). Measures are named by ``measureId``/``measureUrl``; with none named,
every proportion Measure in the store is checked (a measure that cannot be evaluated is then left out
and named in an ``outcome`` warning instead of failing the whole call).
"""

from __future__ import annotations

from typing import Any

from fhir_ops.errors import BadRequest, FhirError
from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest

#: Patients of one call (a Group subject) and measures checked when none is named.
MAX_PATIENTS = 200
MAX_MEASURES = 200

PARAMETERS = (
    OperationParam("periodStart", "date", min=1, documentation="Start of the period", also=("dateTime",)),
    OperationParam("periodEnd", "date", min=1, documentation="End of the period", also=("dateTime",)),
    OperationParam(
        "subject",
        "string",
        min=1,
        documentation="Patient/x or Group/y (its Patient members)",
        also=("Reference",),
    ),
    OperationParam("status", "code", min=1, max="*", documentation="open-gap | closed-gap", also=("string",)),
    OperationParam("measureId", "string", max="*", documentation="Measure ids to check"),
    OperationParam("measureUrl", "canonical", max="*", documentation="Measure canonicals (url[|version])"),
    OperationParam(
        "return", "Bundle", use="out", min=1, max="*", documentation="One Gaps in Care Bundle per patient"
    ),
    OperationParam(
        "outcome", "OperationOutcome", use="out", documentation="Measures left out (none named) and why"
    ),
)


async def _measures(request: OperationRequest) -> tuple[list[dict[str, Any]], bool]:
    """The Measures to check, and whether the caller named them."""
    from measures.care_gaps import is_proportion
    from measures.evaluate import load_measure

    repo = request.services.repo
    named = [await load_measure(repo, measure_id=str(m), measure_url=None) for m in request.all("measureId")]
    named += [
        await load_measure(repo, measure_id=None, measure_url=str(u)) for u in request.all("measureUrl")
    ]
    if named:
        return named, True
    found = await repo.search("Measure", [("_count", str(MAX_MEASURES + 1))])
    if found.total > MAX_MEASURES:
        raise BadRequest(
            f"The store holds more than {MAX_MEASURES} Measures: name them with measureId or measureUrl",
            expression=["measureId"],
        )
    return [m for m in found.matches if is_proportion(m)], False


async def care_gaps_handler(request: OperationRequest) -> dict[str, Any]:
    from measures.care_gaps import GAP_STATUSES, gaps_bundle
    from measures.evaluate import evaluate_measure
    from measures.patient_data import subject_patient_ids
    from measures.period import parse_period

    statuses = frozenset(str(s) for s in request.all("status"))
    if not statuses <= GAP_STATUSES:
        unknown = ", ".join(sorted(statuses - GAP_STATUSES))
        raise BadRequest(f"status must be open-gap or closed-gap (not {unknown})", expression=["status"])
    subject = request.one("subject")
    if isinstance(subject, dict):
        subject = subject.get("reference")
    services = request.services
    period = parse_period(request.one("periodStart"), request.one("periodEnd"))
    patients = await subject_patient_ids(services.repo, str(subject))
    if len(patients) > MAX_PATIENTS:
        raise BadRequest(f"$care-gaps takes at most {MAX_PATIENTS} patients per call", expression=["subject"])
    measures, named = await _measures(request)
    for measure in measures:  # a catalog indicator reads fact Observations: as $evaluate-measure does
        await services.before_rating(measure, period)
    left_out: list[str] = []
    bundles: list[dict[str, Any]] = []
    for patient_id in patients:
        measured: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for measure in measures:
            try:
                report = await evaluate_measure(
                    services.repo,
                    measure_id=str(measure["id"]),
                    period_start=request.one("periodStart"),
                    period_end=request.one("periodEnd"),
                    report_type="subject",
                    subject=f"Patient/{patient_id}",
                    cql=services.cql,
                )
            except FhirError as exc:
                if named or exc.status >= 500:
                    raise
                left_out.append(f"Measure/{measure['id']}: {exc.diagnostics}")
                continue
            measured.append((measure, report))
        patient = await services.repo.read("Patient", patient_id)
        bundles.append(gaps_bundle(patient, measured, statuses=statuses))
    parameters: list[dict[str, Any]] = [{"name": "return", "resource": b} for b in bundles]
    if left_out:
        issues = [
            {"severity": "warning", "code": "processing", "diagnostics": text}
            for text in dict.fromkeys(left_out)
        ]
        parameters.append(
            {"name": "outcome", "resource": {"resourceType": "OperationOutcome", "issue": issues}}
        )
    return {"resourceType": "Parameters", "parameter": parameters}


OPERATION = Operation(
    code="care-gaps",
    title="Care Gaps",
    description="DEQM gaps in care: for a patient (or a Group's patients) and a period, the proportion "
    "measures with an open (eligible, not met) or closed gap, as a Gaps in Care document Bundle per patient.",
    levels=("type",),
    resource_types=("Measure",),
    handler=care_gaps_handler,
    parameters=PARAMETERS,
)
