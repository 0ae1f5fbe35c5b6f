"""Hand-written cases for the igan spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "igan-biopsy-preop-tests",
        "肾活检术前完善：血常规、尿常规、肝肾功能、凝血功能、输血前四项、补体C3、免疫球蛋白IgA、血型、24小时尿蛋白定量1.2g，泌尿系B超示双肾大小形态正常，输尿管及膀胱未见异常。",
        True,
    ),
    (
        "igan-biopsy-preop-tests",
        "术前检查：血常规、尿常规、肝功能、肾功能、凝血四项、乙肝五项、丙肝抗体、梅毒抗体、HIV抗体均阴性，补体C3 0.9g/L，IgA 3.5g/L，血型A型，24h尿蛋白定量0.8g，双肾彩超未见异常。",
        True,
    ),
    (
        "igan-biopsy-preop-tests",
        "术前完善血常规、尿常规、肝肾功能、凝血功能、输血前四项、补体C3、IgA、血型、双肾B超。",
        False,
    ),
    (
        "igan-biopsy-preop-tests",
        "血常规、尿常规、肝肾功能、凝血功能、输血前四项、补体C3、IgA、血型、24小时尿蛋白定量；双肾B超未做。",
        False,
    ),
    ("igan-biopsy-preop-tests", "行肾穿刺活检，病理示IgA肾病。", False),
]


@parametrize_cases(CASES)
async def test_igan_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="igan") is expected
