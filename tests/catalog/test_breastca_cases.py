"""Hand-written cases for the breastca spec (乳腺癌): positive, negative, negated/planned phrasings.

Covers the indicators without dev rows and the rules' edge cases (thresholds, staging completeness, station lists).
"""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("breastca-clinical-tnm", "左乳肿物穿刺：浸润性导管癌。临床分期cT2N1M0，行新辅助化疗。", True),
    ("breastca-clinical-tnm", "左乳肿物穿刺：浸润性导管癌。行左乳癌改良根治术，术后病理分期pT2N1M0。", False),
    ("breastca-clinical-tnm", "入院诊断：左乳腺癌（T2N0M0 IIA期）。", True),
    ("breastca-axillary-nodes-10", "术后病理：腋窝淋巴结0/8，前哨淋巴结0/3。", False),
    ("breastca-axillary-nodes-10", "术后病理：左腋窝淋巴结见癌转移（3/21）。", True),
    ("breastca-axillary-nodes-10", "术后病理：前哨淋巴结（0/12）未见转移。", False),
    (
        "breastca-staging-workup",
        "乳腺彩超：左乳低回声结节BI-RADS 4c。胸部CT：未见转移。肝胆胰脾彩超未见异常。",
        True,
    ),
    ("breastca-staging-workup", "乳腺钼靶：左乳肿块。胸片未见异常，腹部B超未见异常。", False),
    ("breastca-pathology-before-nonsurgical", "左乳空芯针穿刺病理：浸润性小叶癌。予新辅助化疗。", True),
    ("breastca-pathology-before-nonsurgical", "乳腺彩超示左乳肿物，考虑乳腺癌可能，予化疗。", False),
    ("breastca-clinical-tnm", "临床分期：cT2N1M0 IIB期。", True),
    ("breastca-staging-workup", "乳腺彩超BI-RADS 5类。PET-CT：左乳高代谢灶，余未见异常。", True),
    ("breastca-staging-workup", "乳腺超声示左乳肿块，拟行胸部CT及腹部超声检查。", False),
]


@parametrize_cases(CASES)
async def test_breastca_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="breastca") is expected
