"""Hand-written cases for the cs spec (剖宫产): the indicators without dev rows (PPH, transfusion) and Apgar phrasings."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.loader import SPEC_DIR, load_disease

SLUG = "cs"


def _record(text: str):  # type: ignore[no-untyped-def]
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return record_from_resources(
        [
            {"resourceType": "Patient", "id": "p1"},
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            },
            {
                "resourceType": "DocumentReference",
                "id": "d1",
                "status": "current",
                "content": [{"attachment": {"contentType": "text/plain", "data": data}}],
            },
        ]
    )


async def _numerator(measure_id: str, text: str) -> bool:
    spec = next(i for i in load_disease(Path(SPEC_DIR) / f"{SLUG}.yaml").indicators if i.id == measure_id)
    bundle = await qc_evaluate(
        _record(text), measures=[spec], denominator_asserted=True, policy=policy_for("lexical")
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1


CASES = [
    ("cs-apgar5-le7", "孕39+2周，行子宫下段剖宫产术，新生儿Apgar评分1分钟5分，5分钟7分，转新生儿科。", True),
    ("cs-apgar5-le7", "新生儿出生后1min和5min的Apgar评分分别为9分和10分。", False),
    ("cs-apgar5-le7", "新生儿Apgar评分8-9分，体重3200g。", False),
    ("cs-apgar5-le7", "新生儿Apgar评分4-6-8分，予复苏后转NICU。", True),
    ("cs-pph", "手术经过：子宫收缩乏力，术中出血约1500ml，予卡前列素氨丁三醇宫体注射。", True),
    ("cs-pph", "手术经过：术程顺利，术中出血约300ml，术后予缩宫素预防产后出血。", False),
    ("cs-pph", "出院诊断：1.孕2产1孕38周剖宫产 2.产后出血 3.失血性贫血。", True),
    ("cs-pph-transfusion", "术中出血约1800ml，术中输注悬浮红细胞4U及新鲜冰冻血浆400ml。", True),
    ("cs-pph-transfusion", "术中出血约1200ml，术中自体血回输500ml。", True),
    ("cs-pph-transfusion", "术中出血约1100ml，备血2U，未输血，予补液对症治疗。", False),
]


@pytest.mark.parametrize(("measure_id", "text", "expected"), CASES)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
