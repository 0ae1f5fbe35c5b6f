"""Hand-written cases for the gastricca spec (胃癌): positive, negative, negated/planned phrasings.

Covers the indicators without dev rows and the rules' edge cases (thresholds, staging completeness, station lists).
"""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "gastricca-lymph-nodes-16",
        "术后病理：胃窦溃疡型低分化腺癌，侵及浆膜下层，小弯侧淋巴结(3/12)、大弯侧淋巴结(0/6)，共检出淋巴结18枚。",
        True,
    ),
    ("gastricca-lymph-nodes-16", "术后病理：胃体中分化腺癌，淋巴结(2/14)见癌转移，pT3N1M0。", False),
    ("gastricca-lymph-nodes-16", "术后病理：胃窦腺癌，区域淋巴结未见转移（0/23）。", True),
    ("gastricca-lymph-nodes-16", "行腹腔镜胃癌根治术（D2），术后恢复可。", False),
    ("gastricca-clinical-tnm", "胃镜活检：胃窦腺癌。腹部增强CT评估临床分期cT3N1M0，行新辅助化疗。", True),
    ("gastricca-clinical-tnm", "胃镜活检：胃窦腺癌。临床分期：T3N+，遂行手术。", False),
    ("gastricca-clinical-tnm", "行胃癌根治术，术后病理分期T3N1M0。", False),
    ("gastricca-clinical-tnm", "术前诊断：胃体癌（cT4a N2 M0，III期）。", True),
    ("gastricca-pathologic-tnm", "行根治性远端胃切除术，术后病理：中分化腺癌，pT2N1M0，IIA期。", True),
    ("gastricca-pathologic-tnm", "术后病理分期：T3N2M0。", True),
    ("gastricca-pathologic-tnm", "术后病理：腺癌，pT2N1。", False),
    ("gastricca-pathologic-tnm", "胃镜活检：腺癌，临床分期cT3N1M0。", False),
    ("gastricca-staging-workup", "术前完善胸部CT平扫、腹盆腔增强CT：胃窦壁增厚，未见远处转移。", True),
    ("gastricca-staging-workup", "入院后行胸部CT，上腹部MRI增强及盆腔MRI检查。", True),
    ("gastricca-staging-workup", "入院后行腹部增强CT及盆腔增强CT，未行胸部CT。", False),
    ("gastricca-pathology-before-treatment", "胃镜：胃角溃疡，取活检4块，病理：印戒细胞癌。", True),
    ("gastricca-pathology-before-treatment", "胃镜示胃窦溃疡，考虑胃癌可能，活检病理待回。", False),
    ("gastricca-pathology-before-treatment", "胃镜活检病理：慢性萎缩性胃炎伴低级别上皮内瘤变。", False),
    (
        "gastricca-endoscopic-margin-positive",
        "行ESD术，术后病理：高分化管状腺癌，侵及黏膜下层，垂直切缘阳性。",
        True,
    ),
    (
        "gastricca-endoscopic-margin-positive",
        "ESD术后病理：黏膜内癌，水平切缘及垂直切缘均未见癌累及。",
        False,
    ),
    ("gastricca-endoscopic-margin-positive", "ESD术后病理：早期胃癌，HM1，VM0。", True),
    ("gastricca-endoscopic-margin-positive", "EMR术后病理：腺癌，基底切缘可见癌组织残留。", True),
    ("gastricca-lymph-nodes-16", "术后病理：清扫淋巴结共22枚，3枚见癌转移。", True),
    ("gastricca-lymph-nodes-16", "术后病理：pN1(2/30)。", True),
    ("gastricca-clinical-tnm", "超声内镜分期uT3N1，CT未见远处转移M0。", False),
    ("gastricca-clinical-tnm", "直肠超声内镜分期：uT3N1M0。", True),
]


@parametrize_cases(CASES)
async def test_gastricca_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="gastricca") is expected
