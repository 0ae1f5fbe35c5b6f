"""Hand-written cases for the pd spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("pd-hoehn-yahr", "诊断：帕金森病（Hoehn-Yahr分期 2.5期）。", True),
    ("pd-hoehn-yahr", "查体：面具脸，四肢肌张力增高，静止性震颤。诊断：帕金森病。", False),
    ("pd-hoehn-yahr", "入院评估：H-Y 3级，UPDRSⅢ 32分。", True),
    ("pd-updrs", "入院后行MDS-UPDRS评估，第三部分评分41分。", True),
    ("pd-updrs", "查体：四肢肌张力增高，行走慌张步态。", False),
    ("pd-motor-complications", "患者近1年出现剂末现象及异动症，予调整美多芭剂量。", True),
    ("pd-motor-complications", "评估运动并发症：无剂末现象，无异动症。", True),
    ("pd-motor-complications", "给予普拉克索以预防运动并发症出现。", False),
    ("pd-orthostatic-hypotension", "测卧立位血压：卧位132/80mmHg，立位3分钟128/76mmHg。", True),
    ("pd-orthostatic-hypotension", "患者诉站立时头晕、眼前发黑，考虑体位性低血压。", True),
    ("pd-orthostatic-hypotension", "查体：BP 130/80mmHg，心肺无异常。", False),
    ("pd-anxiety-depression", "HAMA 12分，HAMD 15分，提示轻度焦虑抑郁。", True),
    ("pd-anxiety-depression", "行医院焦虑抑郁量表（HADS）评估：焦虑8分，抑郁6分。", True),
    ("pd-anxiety-depression", "汉密尔顿抑郁量表18分。", False),
    ("pd-anxiety-depression", "为改善抑郁和焦虑症状给予舍曲林。", False),
    ("pd-motor-complications", "查体：慌张步态，冻结步态，四肢肌张力增高。", False),
]


@parametrize_cases(CASES)
async def test_pd_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="pd") is expected
