"""Hand-written cases for the gib spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "gib-health-education",
        "出院医嘱：戒烟戒酒，清淡易消化饮食，避免辛辣刺激食物，规律作息，避免劳累，避免服用阿司匹林等非甾体抗炎药，定期复查。",
        True,
    ),
    ("gib-health-education", "出院医嘱：嘱禁酒，软食，注意休息，遵医嘱服药。", True),
    ("gib-health-education", "出院医嘱：清淡饮食，注意休息，1月后复查胃镜。", False),
    ("gib-health-education", "个人史：饮酒20年，已戒酒。出院医嘱：规律饮食，注意休息，遵医嘱服药。", False),
    ("gib-health-education", "患者好转出院。", False),
]


@parametrize_cases(CASES)
async def test_gib_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="gib") is expected
