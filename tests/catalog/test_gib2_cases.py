"""Hand-written cases for the gib2 spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "gib2-endoscopic-hemostasis-success",
        "急诊胃镜见胃角溃疡活动性渗血，予内镜下钛夹止血，观察未见继续出血，此后未再黑便。",
        True,
    ),
    ("gib2-endoscopic-hemostasis-success", "胃镜下套扎治疗曲张静脉，术后仍有呕血，转介入栓塞。", False),
    ("gib2-endoscopic-hemostasis-success", "行内镜下止血治疗。", False),
]


@parametrize_cases(CASES)
async def test_gib2_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="gib2") is expected
