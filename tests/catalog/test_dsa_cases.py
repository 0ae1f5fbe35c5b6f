"""Hand-written cases for the dsa spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("dsa-positive-rate", "全脑血管造影示左侧大脑中动脉M1段重度狭窄。", True),
    ("dsa-positive-rate", "行全脑血管造影术，造影未见明显异常。", False),
    ("dsa-serious-complication", "全脑血管造影术后2小时出现右侧肢体无力，复查头颅MRI示新发脑梗死。", True),
    ("dsa-serious-complication", "造影后穿刺点形成假性动脉瘤，行外科修补术。", True),
    (
        "dsa-serious-complication",
        "因脑梗死入院，行全脑血管造影术，术后穿刺点无渗血，足背动脉搏动良好，无不适。",
        False,
    ),
    ("dsa-serious-complication", "术前告知造影可能出现脑梗死、出血等风险。术后顺利。", False),
]


@parametrize_cases(CASES)
async def test_dsa_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="dsa") is expected
