"""Hand-written cases for the cac spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("cac-severity-grading", "入院诊断：支气管哮喘急性发作（重度）。予甲泼尼龙静滴。", True),
    ("cac-severity-grading", "评估为中度急性发作，予雾化吸入沙丁胺醇。", True),
    ("cac-severity-grading", "诊断：危重哮喘，转入ICU行机械通气。", True),
    ("cac-severity-grading", "病情严重程度分级：重度。", True),
    ("cac-severity-grading", "诊断：支气管哮喘。予布地奈德福莫特罗吸入，症状缓解出院。", False),
    ("cac-severity-grading", "既往史：重度哮喘病史10年。入院诊断：支气管哮喘。", False),
]


@parametrize_cases(CASES)
async def test_cac_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="cac") is expected
