"""Hand-written cases for the gib spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "gib.yaml").indicators if i.id == measure_id)
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
    (
        "gib-health-education",
        "出院医嘱：戒烟戒酒，清淡易消化饮食，避免辛辣刺激食物，规律作息，避免劳累，避免服用阿司匹林等非甾体抗炎药，定期复查。",
        True,
    ),
    ("gib-health-education", "出院医嘱：嘱禁酒，软食，注意休息，遵医嘱服药。", True),
    ("gib-health-education", "出院医嘱：清淡饮食，注意休息，1月后复查胃镜。", False),
    ("gib-health-education", "个人史：饮酒20年，已戒酒。出院医嘱：规律饮食，注意休息，遵医嘱服药。", False),
    ("gib-health-education", "患者好转出院。", False),
]


@_params(CASES)
async def test_gib_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("gib", measure_id, text) is expected
