"""Hand-written cases for the asah spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "asah-complete-occlusion",
        "全麻下行动脉瘤弹簧圈栓塞术，术后即刻造影示动脉瘤致密栓塞，载瘤动脉通畅。",
        True,
    ),
    ("asah-complete-occlusion", "术后复查CTA示动脉瘤夹闭完全，未见动脉瘤显影。", True),
    ("asah-complete-occlusion", "术后造影示动脉瘤瘤颈少许残留（Raymond Ⅱ级）。", False),
    ("asah-complete-occlusion", "行动脉瘤夹闭术，术后予抗血管痉挛治疗。", False),
    (
        "asah2-preop-assessment",
        "查体：神清，颈抵抗(+)。辅助检查：头颅CT示蛛网膜下腔出血；头颅CTA示前交通动脉瘤；DSA示前交通动脉瘤。",
        True,
    ),
    (
        "asah2-preop-assessment",
        "查体：神清，颈抵抗(+)。辅助检查：头颅CT示蛛网膜下腔出血。建议行DSA检查，家属拒绝。",
        False,
    ),
    (
        "asah2-preop-assessment",
        "查体：神清，颈强(+)，克氏征阳性。辅助检查：头颅CT+CTA示蛛网膜下腔出血、右侧后交通动脉瘤。入院后行全脑血管造影证实。",
        True,
    ),
    ("asah2-preop-assessment", "查体：神清。辅助检查：头颅CTA示前交通动脉瘤。拟行DSA检查。", False),
]


@parametrize_cases(CASES)
async def test_asah_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text) is expected
