"""Hand-written cases for the cervicalca spec (宫颈癌): margins (all three), staging strategies, negative biopsy."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.loader import SPEC_DIR, load_disease

SLUG = "cervicalca"


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
    ("cervicalca-negative-margins", "术后病理：宫颈鳞状细胞癌，阴道切缘及双侧宫旁组织未见癌。", True),
    ("cervicalca-negative-margins", "术后病理：宫颈鳞癌，阴道切缘见癌累及，双侧宫旁未见癌。", False),
    ("cervicalca-negative-margins", "术后病理：宫颈鳞癌，阴道切缘未见癌。", False),
    (
        "cervicalca-figo-staging-workup",
        "妇科检查：宫颈见3cm菜花样肿物。盆腔MRI：宫颈占位。胸部CT未见转移，全腹CT未见异常。",
        True,
    ),
    (
        "cervicalca-figo-staging-workup",
        "妇科检查：宫颈见3cm菜花样肿物。盆腔MRI：宫颈占位。胸部CT未见转移。",
        False,
    ),
    (
        "cervicalca-figo-staging-workup",
        "妇科检查：宫颈肿物。盆腔磁共振：宫颈癌。PET-CT：未见远处转移。",
        True,
    ),
    ("cervicalca-pathology-before-treatment", "阴道镜下宫颈活检病理：非角化型鳞状细胞癌。", True),
    ("cervicalca-pathology-before-treatment", "宫颈活检病理：慢性宫颈炎，未见癌。鳞癌抗原升高。", False),
]


@pytest.mark.parametrize(("measure_id", "text", "expected"), CASES)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
