"""Hand-written cases for the pacg spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("pacg-preop-high-iop", "入院查体：左眼眼压52mmHg，右眼眼压16mmHg。", True),
    ("pacg-preop-high-iop", "入院眼压：右眼18mmHg，左眼30mmHg。", False),
    ("pacg-preop-high-iop", "入院时左眼眼压28mmHg。术后眼压35mmHg。", False),
    ("pacg-discharge-iop", "行左眼小梁切除术，出院时左眼眼压15mmHg。", True),
    ("pacg-discharge-iop", "行左眼小梁切除术，出院时左眼眼压25mmHg。", False),
    ("pacg-discharge-iop", "术后第1天眼压5mmHg，浅前房。", False),
    ("pacg-discharge-iop", "术后第1天眼压28mmHg。出院时眼压18mmHg。", True),
    ("pacg-discharge-iop", "行小梁切除术，术后恢复可。", False),
    ("pacg-acd-below-1-5", "UBM示左眼中央前房深度1.35mm，房角关闭。", True),
    ("pacg-acd-below-1-5", "UBM示前房深度1.5mm。", False),
    ("pacg-acd-below-1-5", "周边前房1/4CT，中央前房2CT。", False),
    (
        "pacg-preop-assessment",
        "视力：右眼0.5，左眼0.1；眼压右眼15mmHg，左眼48mmHg；A超眼轴右眼22.1mm，左眼22.0mm；UBM示前房深度1.6mm，房角关闭；视野检查示鼻侧缺损。BP 130/80mmHg，血常规、血糖、凝血功能、输血前四项、心电图、胸片未见异常。",
        True,
    ),
    (
        "pacg-preop-assessment",
        "视力：右眼0.5，左眼0.1；眼压右眼15mmHg，左眼48mmHg；UBM示前房深度1.6mm，房角关闭。BP 130/80mmHg，血常规、血糖、凝血功能、输血前四项、心电图、胸片未见异常。",
        False,
    ),
]


@parametrize_cases(CASES)
async def test_pacg_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="pacg") is expected
