"""Hand-written cases for the cas spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("cas-preop-mrs", "入院时mRS评分1分。行右侧颈动脉支架置入术。", True),
    ("cas-preop-mrs", "行左侧颈动脉支架置入术。出院时mRS 0分。", False),
    ("cas-technical-success", "术后造影示残余狭窄约10%，远端血流mTICI 3级。", True),
    ("cas-technical-success", "支架释放后狭窄解除，无残余狭窄，前向血流TICI 3级。", True),
    ("cas-technical-success", "术后造影示残余狭窄约40%，mTICI 3级。", False),
    ("cas-technical-success", "术后残余狭窄约20%，mTICI 2b级。", False),
    ("cas-technical-success", "支架贴壁良好，血流通畅。", False),
]


@parametrize_cases(CASES)
async def test_cas_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="cas") is expected
