"""Hand-written cases for the tia spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    ("tia-abcd2", "入院后ABCD2评分5分，属高危。", True),
    ("tia-abcd2", "未行ABCD2评分。", False),
    ("tia-abcd2", "ABCD3-I评分4分。", False),
    ("tia-dapt", "ABCD2评分4分。予阿司匹林100mg qd联合氯吡格雷75mg qd。", True),
    (
        "tia-dapt",
        "ABCD2评分5分。既往史：长期口服阿司匹林。诊疗经过：予氯吡格雷抗血小板、阿托伐他汀调脂。",
        False,
    ),
    ("tia-dapt", "ABCD2评分6分。予阿司匹林抗血小板治疗，因消化道出血史未加用氯吡格雷。", False),
]


@_params(CASES)
async def test_tia_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("tia", measure_id, text) is expected
