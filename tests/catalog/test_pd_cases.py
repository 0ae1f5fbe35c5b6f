"""Hand-written cases for the pd spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.loader import SPEC_DIR, load_disease


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


async def _numerator(slug: str, measure_id: str, text: str) -> bool:
    """Numerator (denominator asserted) of one of this slug's indicators, loaded from its own spec file."""
    spec = next(i for i in load_disease(Path(SPEC_DIR) / f"{slug}.yaml").indicators if i.id == measure_id)
    bundle = await qc_evaluate(
        _record(text), measures=[spec], denominator_asserted=True, policy=policy_for("lexical")
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1


def _params(cases):  # type: ignore[no-untyped-def]
    return pytest.mark.parametrize(
        ("measure_id", "text", "expected"), cases, ids=[f"{c[0]}-{i}" for i, c in enumerate(cases)]
    )


CASES = [
    ("pd-hoehn-yahr", "诊断：帕金森病（Hoehn-Yahr分期 2.5期）。", True),
    ("pd-hoehn-yahr", "查体：面具脸，四肢肌张力增高，静止性震颤。诊断：帕金森病。", False),
    ("pd-hoehn-yahr", "入院评估：H-Y 3级，UPDRSⅢ 32分。", True),
    ("pd-updrs", "入院后行MDS-UPDRS评估，第三部分评分41分。", True),
    ("pd-updrs", "查体：四肢肌张力增高，行走慌张步态。", False),
    ("pd-motor-complications", "患者近1年出现剂末现象及异动症，予调整美多芭剂量。", True),
    ("pd-motor-complications", "评估运动并发症：无剂末现象，无异动症。", True),
    ("pd-motor-complications", "给予普拉克索以预防运动并发症出现。", False),
    ("pd-orthostatic-hypotension", "测卧立位血压：卧位132/80mmHg，立位3分钟128/76mmHg。", True),
    ("pd-orthostatic-hypotension", "患者诉站立时头晕、眼前发黑，考虑体位性低血压。", True),
    ("pd-orthostatic-hypotension", "查体：BP 130/80mmHg，心肺无异常。", False),
    ("pd-anxiety-depression", "HAMA 12分，HAMD 15分，提示轻度焦虑抑郁。", True),
    ("pd-anxiety-depression", "行医院焦虑抑郁量表（HADS）评估：焦虑8分，抑郁6分。", True),
    ("pd-anxiety-depression", "汉密尔顿抑郁量表18分。", False),
    ("pd-anxiety-depression", "为改善抑郁和焦虑症状给予舍曲林。", False),
    ("pd-motor-complications", "查体：慌张步态，冻结步态，四肢肌张力增高。", False),
]


@_params(CASES)
async def test_pd_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("pd", measure_id, text) is expected
