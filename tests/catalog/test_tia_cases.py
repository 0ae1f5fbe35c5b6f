"""Hand-written cases for the tia spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("tia-abcd2", "入院后ABCD2评分5分，属高危。", True),
    ("tia-abcd2", "未行ABCD2评分。", False),
    ("tia-abcd2", "ABCD3-I评分4分。", False),
    ("tia-dapt", "ABCD2评分4分。予阿司匹林100mg qd联合氯吡格雷75mg qd。", True),
    (
        "tia-dapt",
        "ABCD2评分5分。既往史：长期口服阿司匹林。诊疗经过：予氯吡格雷抗血小板、阿托伐他汀调脂。",
        False,
    ),
    ("tia-dapt", "ABCD2评分6分。予阿司匹林抗血小板治疗，因消化道出血史未加用氯吡格雷。", False),
]


@parametrize_cases(CASES)
async def test_tia_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="tia") is expected
