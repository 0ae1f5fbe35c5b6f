"""Translator errors as a FHIR 422 whose OperationOutcome carries each error's line/column."""

from __future__ import annotations

from fhir_ops.errors import BusinessRuleViolation
from measures.engine import CqlTranslationError


def translation_violation(exc: CqlTranslationError) -> BusinessRuleViolation:
    """One summary issue, then one issue per translator error (``location`` = ``line L, column C``)."""
    return BusinessRuleViolation(
        f"CQL translation failed: {exc.describe()}",
        expression=["Library.content"],
        issues=exc.outcome_issues(),
    )
