"""Hand-written cases for the pci spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("pci-angiographic-success", "于LAD植入支架一枚，复查造影残余狭窄10%，TIMI血流3级。", True),
    ("pci-angiographic-success", "于LAD植入支架一枚，复查造影残余狭窄20%，TIMI血流3级。", False),
    ("pci-angiographic-success", "于LAD植入支架一枚，术后残余狭窄<20%，TIMI血流3级。", True),
    ("pci-angiographic-success", "RCA病变行单纯球囊扩张（PTCA），术后残余狭窄30%，TIMI 3级血流。", True),
    ("pci-angiographic-success", "于LAD植入支架一枚，术后残余狭窄<10%，TIMI血流2级。", False),
    ("pci-angiographic-success", "于LAD植入支架一枚，残余狭窄0%。", False),
]


@parametrize_cases(CASES)
async def test_pci_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="pci") is expected
