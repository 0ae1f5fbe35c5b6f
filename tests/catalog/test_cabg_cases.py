"""Hand-written cases for the cabg spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("cabg-graft-flow", "LIMA-LAD，SVG-OM，术中TTFM测定桥血管流量：LIMA 35ml/min，PI 2.1。", True),
    ("cabg-graft-flow", "左乳内动脉吻合前降支，Impella以流量2.5L/min辅助。", False),
    ("cabg-ima-graft", "全部采用大隐静脉桥：SVG-LAD，SVG-RCA。", False),
]


@parametrize_cases(CASES)
async def test_cabg_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="cabg") is expected
