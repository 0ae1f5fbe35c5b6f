"""Hand-written cases for the cs spec (剖宫产): the indicators without dev rows (PPH, transfusion) and Apgar phrasings."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("cs-apgar5-le7", "孕39+2周，行子宫下段剖宫产术，新生儿Apgar评分1分钟5分，5分钟7分，转新生儿科。", True),
    ("cs-apgar5-le7", "新生儿出生后1min和5min的Apgar评分分别为9分和10分。", False),
    ("cs-apgar5-le7", "新生儿Apgar评分8-9分，体重3200g。", False),
    ("cs-apgar5-le7", "新生儿Apgar评分4-6-8分，予复苏后转NICU。", True),
    ("cs-pph", "手术经过：子宫收缩乏力，术中出血约1500ml，予卡前列素氨丁三醇宫体注射。", True),
    ("cs-pph", "手术经过：术程顺利，术中出血约300ml，术后予缩宫素预防产后出血。", False),
    ("cs-pph", "出院诊断：1.孕2产1孕38周剖宫产 2.产后出血 3.失血性贫血。", True),
    ("cs-pph-transfusion", "术中出血约1800ml，术中输注悬浮红细胞4U及新鲜冰冻血浆400ml。", True),
    ("cs-pph-transfusion", "术中出血约1200ml，术中自体血回输500ml。", True),
    ("cs-pph-transfusion", "术中出血约1100ml，备血2U，未输血，予补液对症治疗。", False),
]


@parametrize_cases(CASES, indexed_ids=False)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="cs") is expected
