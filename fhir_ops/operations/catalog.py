"""The operations MedQC offers (the one registry everything else derives from)."""

from __future__ import annotations

from functools import lru_cache

from fhir_ops.operations import evaluate_measure, qc_evaluate
from fhir_ops.operations.registry import OperationRegistry


@lru_cache
def default_registry() -> OperationRegistry:
    registry = OperationRegistry()
    registry.register(evaluate_measure.OPERATION)
    registry.register(qc_evaluate.OPERATION)
    return registry
