"""Hand-written cases for the men spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "men-surgical-indication",
        "主诉：右侧肢体无力1月。MRI示左额镰旁占位，大小约3.5cm×3.0cm，考虑脑膜瘤。",
        True,
    ),
    ("men-surgical-indication", "体检发现颅内占位。MRI示右额凸面脑膜瘤。", False),
    ("men-surgical-indication", "主诉：发作性四肢抽搐半年，口服丙戊酸钠控制不佳。", True),
]


@parametrize_cases(CASES)
async def test_men_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="men") is expected
