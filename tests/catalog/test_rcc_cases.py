"""Hand-written cases for the rcc spec (肾癌): staging strategy and pathology that must confirm renal cell carcinoma."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "rcc-staging-workup",
        "泌尿系彩超：右肾实性占位。腹部增强CT：右肾占位，考虑肾癌。胸片：心肺未见异常。",
        True,
    ),
    ("rcc-staging-workup", "泌尿系彩超：右肾实性占位。腹部增强CT：右肾占位，考虑肾癌。", False),
    (
        "rcc-pathology-before-nonsurgical",
        "CT引导下肾穿刺活检病理：透明细胞性肾细胞癌，予射频消融治疗。",
        True,
    ),
    ("rcc-pathology-before-nonsurgical", "增强CT：左肾占位，考虑透明细胞癌可能，予靶向治疗。", False),
    ("rcc-pathology-before-nonsurgical", "输尿管镜活检病理：肾盂高级别尿路上皮癌。", False),
]


@parametrize_cases(CASES, indexed_ids=False)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="rcc") is expected
