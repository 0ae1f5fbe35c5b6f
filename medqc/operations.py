"""The operations this MedQC offers: the one registry routes, OperationDefinitions and the
CapabilityStatement derive from. The app registers them; the FHIR core (``fhir_ops``) knows none."""

from __future__ import annotations

from agents.operations import cdi_review, draft_discharge_summary, icd_suggest, qc_evaluate
from fhir_ops.operations.registry import OperationRegistry
from measures.operations import care_gaps, data_requirements, evaluate_measure, submit_data


def build_registry() -> OperationRegistry:
    registry = OperationRegistry()
    for operation in (evaluate_measure.OPERATION, qc_evaluate.OPERATION, submit_data.OPERATION):
        registry.register(operation)
    for operation in (care_gaps.OPERATION, data_requirements.OPERATION):
        registry.register(operation)
    for operation in (draft_discharge_summary.OPERATION, cdi_review.OPERATION, icd_suggest.OPERATION):
        registry.register(operation)
    return registry
