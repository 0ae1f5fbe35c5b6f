"""Hand-written cases for the hcc spec (肝癌): staging strategy completeness and ICC pathology."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "hcc-cnlc-staging-workup",
        "上腹部增强CT：肝右叶占位，动脉期强化。腹部彩超：肝内实性占位。胸部CT：双肺未见转移。",
        True,
    ),
    ("hcc-cnlc-staging-workup", "上腹部增强CT：肝右叶占位，动脉期强化。腹部彩超：肝内实性占位。", False),
    (
        "hcc-icc-tnm-staging-workup",
        "肝脏MRI增强：肝左叶占位，考虑胆管细胞癌。腹部B超示肝内低回声。胸部CT未见异常。",
        True,
    ),
    (
        "hcc-icc-pathology-before-nonsurgical",
        "超声引导下肝穿刺活检病理：（肝）腺癌，结合免疫组化CK7(+)、CK19(+)，符合肝内胆管细胞癌。予吉西他滨+顺铂化疗。",
        True,
    ),
    ("hcc-icc-pathology-before-nonsurgical", "增强CT考虑肝内胆管癌，患者拒绝穿刺，予TACE治疗。", False),
]


@parametrize_cases(CASES, indexed_ids=False)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="hcc") is expected
