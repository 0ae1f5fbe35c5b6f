"""Hand-written cases for the dsa spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    ("dsa-positive-rate", "全脑血管造影示左侧大脑中动脉M1段重度狭窄。", True),
    ("dsa-positive-rate", "行全脑血管造影术，造影未见明显异常。", False),
    ("dsa-serious-complication", "全脑血管造影术后2小时出现右侧肢体无力，复查头颅MRI示新发脑梗死。", True),
    ("dsa-serious-complication", "造影后穿刺点形成假性动脉瘤，行外科修补术。", True),
    (
        "dsa-serious-complication",
        "因脑梗死入院，行全脑血管造影术，术后穿刺点无渗血，足背动脉搏动良好，无不适。",
        False,
    ),
    ("dsa-serious-complication", "术前告知造影可能出现脑梗死、出血等风险。术后顺利。", False),
]


@_params(CASES)
async def test_dsa_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("dsa", measure_id, text) is expected
