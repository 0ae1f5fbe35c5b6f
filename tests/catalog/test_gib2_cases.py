"""Hand-written cases for the gib2 spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "gib2.yaml").indicators if i.id == measure_id)
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
        "gib2-endoscopic-hemostasis-success",
        "急诊胃镜见胃角溃疡活动性渗血，予内镜下钛夹止血，观察未见继续出血，此后未再黑便。",
        True,
    ),
    ("gib2-endoscopic-hemostasis-success", "胃镜下套扎治疗曲张静脉，术后仍有呕血，转介入栓塞。", False),
    ("gib2-endoscopic-hemostasis-success", "行内镜下止血治疗。", False),
]


@_params(CASES)
async def test_gib2_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("gib2", measure_id, text) is expected
