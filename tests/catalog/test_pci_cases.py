"""Hand-written cases for the pci spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "pci.yaml").indicators if i.id == measure_id)
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
    ("pci-angiographic-success", "于LAD植入支架一枚，复查造影残余狭窄10%，TIMI血流3级。", True),
    ("pci-angiographic-success", "于LAD植入支架一枚，复查造影残余狭窄20%，TIMI血流3级。", False),
    ("pci-angiographic-success", "于LAD植入支架一枚，术后残余狭窄<20%，TIMI血流3级。", True),
    ("pci-angiographic-success", "RCA病变行单纯球囊扩张（PTCA），术后残余狭窄30%，TIMI 3级血流。", True),
    ("pci-angiographic-success", "于LAD植入支架一枚，术后残余狭窄<10%，TIMI血流2级。", False),
    ("pci-angiographic-success", "于LAD植入支架一枚，残余狭窄0%。", False),
]


@_params(CASES)
async def test_pci_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("pci", measure_id, text) is expected
