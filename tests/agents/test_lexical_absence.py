"""'Not found → No' says so: an absence default is marked, so the fact Observation can tell it from a quote."""

from __future__ import annotations

from agents.lexical.verifier import ABSENT_CONFIDENCE, NOT_DOCUMENTED, LexicalVerifier
from agents.verifiers.context import VerificationContext
from measures.catalog import indicator_specs
from measures.catalog.schema import FactSpec
from tests.support.notes import note_record


def _fact(fact_id: str) -> FactSpec:
    return next(f for s in indicator_specs() for f in s.all_facts if f.id == fact_id)


async def test_an_undocumented_assessment_is_no_marked_absent() -> None:
    fact = _fact("cha2ds2_vasc")
    assert fact.absent is False  # the definition: an assessment that is not documented was not done
    ctx = VerificationContext(record=note_record("诊疗经过：予胺碘酮复律，利伐沙班抗凝。"))
    verdict = await LexicalVerifier().verify(fact, ctx)
    assert verdict.value is False
    assert verdict.absent is True
    assert verdict.confidence == ABSENT_CONFIDENCE
    assert verdict.detail is not None
    assert verdict.detail.startswith(NOT_DOCUMENTED)
    assert all(e.quote is None for e in verdict.evidence)  # the notes read, nothing quoted


async def test_a_quoted_negation_is_not_an_absence() -> None:
    fact = _fact("cha2ds2_vasc")
    ctx = VerificationContext(record=note_record("诊疗经过：未行CHA2DS2-VASc评分。"))
    verdict = await LexicalVerifier().verify(fact, ctx)
    assert verdict.value is False
    assert verdict.absent is False
    assert [e.quote for e in verdict.evidence if e.quote]


async def test_a_fact_without_an_absent_policy_stays_unknown() -> None:
    fact = next(f for s in indicator_specs() for f in s.all_facts if f.lexicon and f.absent is None)
    ctx = VerificationContext(record=note_record("主诉：无。"))
    verdict = await LexicalVerifier().verify(fact, ctx)
    assert verdict.value is None
    assert verdict.absent is False
