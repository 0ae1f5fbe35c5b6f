"""``$cdi-review``: documentation gaps of an encounter that matter for coding, DRG grouping and quality,
as a Bundle of DetectedIssues (most severe first), each with its question to the clinician.

At instance level the gaps are kept (:mod:`agents.cdi.store`: one DetectedIssue per encounter and rule,
unchanged when the same record is reviewed again, updated or cancelled when the record changed); a posted
``bundle`` is reviewed and nothing is stored."""

from __future__ import annotations

from typing import Any

from agents.cdi.store import store_gaps
from agents.operations.common import RECORD_PARAMETERS, record_of
from agents.orchestration.runs import cdi_review
from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest


def collection(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


async def cdi_review_handler(request: OperationRequest) -> dict[str, Any]:
    record = await record_of(request)
    issues = await cdi_review(request.services.orchestrator, record)
    if request.resource_id is not None:
        issues = await store_gaps(request.services.repo, record, issues)
    return collection(issues)


OPERATION = Operation(
    code="cdi-review",
    title="Clinical documentation integrity review of an encounter",
    description="Evaluates the CDI rules (knowledge_base/cdi/rules.json: heart failure without type or NYHA "
    "class, diabetes without complication type, pneumonia without pathogen or severity, a procedure without "
    "a procedure record, …) and returns a Bundle of preliminary DetectedIssues, most severe first, with the "
    "evidence, the question to the clinician and the recommended fields. Instance level keeps them (one "
    "DetectedIssue per encounter and rule: unchanged on the same record, updated or cancelled when the "
    "record changed).",
    levels=("system", "instance"),
    resource_types=("Encounter",),
    handler=cdi_review_handler,
    parameters=(
        *RECORD_PARAMETERS,
        OperationParam(
            "return", "Bundle", use="out", min=1, documentation="DetectedIssues, most severe first"
        ),
    ),
    affects_state=True,
)
