"""``$cdi-review``: documentation gaps of an encounter that matter for coding, DRG grouping and quality,
as a Bundle of DetectedIssues (most severe first), each with its question to the clinician."""

from __future__ import annotations

from typing import Any

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
    return collection(await cdi_review(request.services.orchestrator, await record_of(request)))


OPERATION = Operation(
    code="cdi-review",
    title="Clinical documentation integrity review of an encounter",
    description="Evaluates the CDI rules (knowledge_base/cdi/rules.json: heart failure without type or NYHA "
    "class, diabetes without complication type, pneumonia without pathogen or severity, a procedure without "
    "a procedure record, …) and returns a Bundle of preliminary DetectedIssues, most severe first, with the "
    "evidence, the question to the clinician and the recommended fields.",
    levels=("system", "instance"),
    resource_types=("Encounter",),
    handler=cdi_review_handler,
    parameters=(
        *RECORD_PARAMETERS,
        OperationParam(
            "return", "Bundle", use="out", min=1, documentation="DetectedIssues, most severe first"
        ),
    ),
    affects_state=False,
)
