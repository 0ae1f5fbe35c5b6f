"""Hand-written cases for the ep spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "ep.yaml").indicators if i.id == measure_id)
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
        "ep-psvt-ablation-success",
        "诊断AVNRT，行慢径改良消融，消融后静滴异丙肾上腺素，心房程序刺激不能诱发心动过速，手术成功。",
        True,
    ),
    ("ep-psvt-ablation-success", "左侧旁道消融，放电后VA分离，手术成功。", False),
    ("ep-psvt-ablation-success", "消融后异丙肾上腺素激发仍可诱发心动过速，继续标测。", False),
]


@_params(CASES)
async def test_ep_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("ep", measure_id, text) is expected
