"""Hand-written cases for the cervicalca spec (宫颈癌): margins (all three), staging strategies, negative biopsy."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
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


@parametrize_cases(CASES, indexed_ids=False)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="cervicalca") is expected
