"""Hand-written cases for the ich spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("ich-bp-control", "入院BP 196/110mmHg，予乌拉地尔静脉泵入控制血压，血压降至150/90mmHg。", True),
    (
        "ich-bp-control",
        "既往史：高血压病史，口服氨氯地平。查体：入院BP 190/100mmHg。予脱水降颅压治疗。",
        False,
    ),
    ("ich-surgical-indication", "头颅CT示左侧基底节区脑出血，出血量约45ml，中线结构右移。", True),
    ("ich-surgical-indication", "头颅CT示右侧丘脑出血，出血量约12ml，未破入脑室。", False),
    ("ich-surgical-indication", "头CT：脑桥出血。", True),
    ("ich-surgical-indication", "入院后意识障碍加重，GCS评分由12分降至7分，复查CT血肿扩大。", True),
    ("ich-surgical-indication", "头CT：小脑出血，第四脑室受压，幕上脑积水。", True),
    ("ich-discharge-improved", "入院时GCS 9分。出院情况：神志清楚，GCS 14分。", True),
    ("ich-discharge-improved", "入院NIHSS 8分。出院时NIHSS评分12分，病情加重。入院时GCS 15分。", False),
    ("ich-discharge-improved", "患者经治疗后好转出院。", False),
    ("ich-discharge-improved", "治疗后NIHSS评分由10分降至4分。", True),
    ("ich-swallow-screen", "入院后行洼田饮水试验2级，予经口进食。", True),
    ("ich-swallow-screen", "行容积-黏度测试（V-VST）提示安全。", True),
    ("ich-swallow-screen", "入院后给予留置胃管鼻饲。", False),
    ("ich-surgical-indication", "头颅CT示左侧颞叶脑出血（约35ml）。", True),
    ("ich-surgical-indication", "头CT示右侧侧脑室旁出血。行血肿清除术，术中出血约300ml。", False),
]


@parametrize_cases(CASES)
async def test_ich_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="ich") is expected
