from __future__ import annotations

from typing import Any

from agents.lexical.verifier import LexicalVerifier
from agents.verifiers.base import Evidence, FactVerdict
from agents.verifiers.context import VerificationContext
from agents.verifiers.evidence import enforce_evidence
from agents.verifiers.policy import VerificationPolicy, default_policy
from agents.verifiers.structured import StructuredVerifier
from measures.catalog import spec_for
from measures.catalog.schema import FactSpec


def _fact(measure: str, fact_id: str) -> FactSpec:
    spec = spec_for(measure)
    assert spec is not None
    return next(f for f in spec.all_facts if f.id == fact_id)


class _Liar:
    """A verifier that quotes text that is not in the note (a hallucinating model)."""

    name = "llm"

    async def verify(self, fact: FactSpec, ctx: VerificationContext) -> FactVerdict:
        return FactVerdict(
            fact_id=fact.id,
            value=True,
            method="llm",
            confidence=0.95,
            evidence=[Evidence(reference="DocumentReference/d1", quote="行射频消融术", start=0, end=6)],
        )


async def test_hallucinated_quote_is_discarded_and_counted(make_record: Any) -> None:
    ctx = VerificationContext(record=make_record("诊断：心房颤动。予美托洛尔控制心室率。"))
    policy = VerificationPolicy([LexicalVerifier(), _Liar()])
    verdict = await policy.verify(_fact("af-rhythm-control", "catheter_ablation"), ctx)
    assert verdict.value is None
    assert ctx.stats.quotes_checked == 1
    assert ctx.stats.quotes_discarded == 1
    assert ctx.stats.verdicts_voided == 1


async def test_quote_offsets_are_repaired(make_record: Any) -> None:
    record = make_record("诊断：心房颤动。\n行射频消融术，术后窦律。")
    ctx = VerificationContext(record=record)
    verdict = FactVerdict(
        fact_id="x",
        value=True,
        method="llm",
        confidence=0.9,
        evidence=[Evidence(quote="行射频消融术", start=0, end=6)],
    )
    checked = enforce_evidence(verdict, ctx)
    ev = checked.evidence[0]
    assert record.notes[0].text[ev.start : ev.end] == "行射频消融术"
    assert ev.reference == "DocumentReference/d1"


async def test_lexical_negation_gives_false_with_evidence(make_record: Any) -> None:
    text = "主诉：右侧肢体无力4小时。诊治经过：患者无静脉溶栓适应症，故未行静脉溶栓治疗。"
    ctx = VerificationContext(record=make_record(text))
    verdict = await default_policy().verify(_fact("stk-ivt-4-5h", "ivt"), ctx)
    assert verdict.value is False
    assert verdict.method == "lexical"
    for ev in verdict.evidence:
        assert ev.start is not None
        assert text[ev.start : ev.end] == ev.quote


async def test_lexical_numbers(make_record: Any) -> None:
    ctx = VerificationContext(
        record=make_record("超声心动图：右心室射血分数（RVEF）32%，左室射血分数（LVEF）0.55。")
    )
    verdict = await LexicalVerifier().verify(_fact("stemi-ucg-lvef", "lvef"), ctx)
    assert verdict.value == 55.0


async def test_discharge_context_confidence(make_record: Any) -> None:
    fact = _fact("stemi-discharge-statin", "statin_at_discharge")
    inpatient = await LexicalVerifier().verify(
        fact, VerificationContext(record=make_record("入院后予阿托伐他汀调脂。"))
    )
    discharge = await LexicalVerifier().verify(
        fact, VerificationContext(record=make_record("出院医嘱：阿托伐他汀20mg qn。"))
    )
    assert inpatient.value is True
    assert inpatient.confidence < discharge.confidence


async def test_structured_wins_over_text(make_record: Any) -> None:
    procedure = {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "250980009"}]},
    }
    ctx = VerificationContext(record=make_record("诊断：心房颤动。", procedure))
    fact = _fact("af-rhythm-control", "electrical_cardioversion")
    assert (await StructuredVerifier().verify(fact, ctx)).value is True
    verdict = await default_policy().verify(fact, ctx)
    assert verdict.method == "structured"
    assert verdict.evidence[0].reference == "Procedure/pr1"


async def test_structured_not_done_is_false(make_record: Any) -> None:
    procedure = {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": "not-done",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "250980009"}]},
    }
    ctx = VerificationContext(record=make_record("诊断：心房颤动。", procedure))
    verdict = await StructuredVerifier().verify(_fact("af-rhythm-control", "electrical_cardioversion"), ctx)
    assert verdict.value is False
