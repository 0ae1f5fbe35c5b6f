"""Hand-written cases for the cap spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("cap-severity-assessment", "入院诊断：社区获得性肺炎。入院后行CURB-65评分2分，中危，收入院治疗。", True),
    ("cap-severity-assessment", "社区获得性肺炎，PSI评分85分，Ⅲ级。予头孢曲松抗感染。", True),
    ("cap-severity-assessment", "CRB-65评分1分。", True),
    ("cap-severity-assessment", "诊断：社区获得性肺炎。予莫西沙星抗感染治疗，体温正常后出院。", False),
    ("cap-severity-assessment", "未行CURB-65评分。予抗感染治疗。", False),
    ("cap-low-risk-admission", "入院CURB-65评分1分，低危。", True),
    ("cap-low-risk-admission", "CURB-65评分0分。", True),
    ("cap-low-risk-admission", "CURB-65评分3分，高危，收入ICU。", False),
    ("cap-low-risk-admission", "CRB-65评分0分。", True),
    ("cap-low-risk-admission", "CRB-65评分1分。", False),
    ("cap-low-risk-admission", "PSI评分90分。", True),
    ("cap-low-risk-admission", "PSI评分95分，Ⅳ级。", False),
    ("cap-low-risk-admission", "社区获得性肺炎，予抗感染治疗。", False),
]


@parametrize_cases(CASES)
async def test_cap_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="cap") is expected
