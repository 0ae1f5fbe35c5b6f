"""The helper of the hand-written case test (``tests/catalog/test_cases.py``, data in ``case_data/``).

A case is an indicator id, a note text and the expected numerator. The note becomes a one-encounter record
(Patient, Encounter, the note as a DocumentReference), the indicator is loaded from its own spec file
(``measures/catalog/specs/<slug>.yaml``) and evaluated with the denominator asserted and the lexical policy,
and the result is whether the numerator is met.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from agents.methods import policy_for
from agents.qc_evaluate import RuleOracle, qc_evaluate
from agents.verifiers.policy import VerificationPolicy
from measures.catalog.loader import SPEC_DIR, load_disease
from measures.catalog.schema import DiseaseSpec, IndicatorSpec
from tests.support.notes import note_record


@cache
def lexical_policy() -> VerificationPolicy:
    """One lexical policy for every case (verdicts are cached per record, not in the policy)."""
    return policy_for("lexical")


@cache
def _disease(slug: str) -> DiseaseSpec:
    return load_disease(Path(SPEC_DIR) / f"{slug}.yaml")


def indicator(measure_id: str, slug: str | None = None) -> IndicatorSpec:
    """Indicator ``measure_id`` of spec file ``<slug>.yaml``; by default the slug is the id's first part."""
    disease = _disease(slug or measure_id.split("-", 1)[0])
    return next(i for i in disease.indicators if i.id == measure_id)


async def numerator(measure_id: str, text: str, *, slug: str | None = None) -> bool:
    """Whether the note meets the numerator of the indicator (denominator asserted, lexical policy)."""
    bundle = await qc_evaluate(
        note_record(text),
        measures=[indicator(measure_id, slug)],
        denominator_asserted=True,
        policy=lexical_policy(),
        judge=RuleOracle(),
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1
