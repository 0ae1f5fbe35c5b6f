"""Hand-written cases for the lungca spec (肺癌): positive, negative, negated/planned phrasings.

Covers the indicators without dev rows and the rules' edge cases (thresholds, staging completeness, station lists).
"""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "lungca-mediastinal-stations",
        "术后病理：第2R组(0/2)、第4R组(0/3)、第7组(0/2)、第9组(0/1)淋巴结未见转移。",
        True,
    ),
    ("lungca-mediastinal-stations", "术后病理：淋巴结第2、4、7、9、10、11组共13个均未见转移。", True),
    ("lungca-mediastinal-stations", "术后病理：第7组(0/2)、第10组(0/1)、第11组(0/3)淋巴结未见转移。", False),
    (
        "lungca-surgical-indication",
        "术后病理：腺癌，支气管切缘未见癌，第2组淋巴结(0/3)，第7组淋巴结(1/2)。",
        True,
    ),
    ("lungca-surgical-indication", "术后病理：鳞癌，支气管残端见癌累及，淋巴结未见转移。", False),
    ("lungca-lymph-node-dissection", "行胸腔镜右肺上叶楔形切除术，未行淋巴结清扫。", False),
    ("lungca-lymph-node-dissection", "行胸腔镜右肺上叶切除+系统性淋巴结清扫术。", True),
    ("lungca-staging-workup", "胸部增强CT、颈部彩超、全身骨扫描、上腹部CT、头颅MRI均未见转移。", True),
    ("lungca-staging-workup", "胸部CT示右上肺占位，建议行PET-CT检查。", False),
    ("lungca-pathology-before-nonsurgical", "胸部CT示右肺占位，考虑肺癌，予化疗。", False),
    (
        "lungca-pathology-before-nonsurgical",
        "CT引导下肺穿刺活检病理：（右肺）腺癌，EGFR 19外显子缺失，予奥希替尼靶向治疗。",
        True,
    ),
    ("lungca-preop-assessment", "术前肺功能：FEV1 2.1L。胸部CT示左下肺结节。", True),
    ("lungca-preop-assessment", "胸部CT示右上肺结节。患者拒绝行肺功能检查。", False),
    ("lungca-staging-workup", "入院后行PET/CT：右肺上叶代谢增高灶，未见远处转移。", True),
    ("lungca-staging-workup", "未行PET-CT检查。胸部CT示右肺占位。", False),
    ("lungca-mediastinal-stations", "清扫第2R、4R、7、9组淋巴结，术后病理均未见转移。", True),
    ("lungca-mediastinal-stations", "术后病理：4L组0/2，5组0/1，6组0/1，7组0/3，10L组0/2。", False),
    ("lungca-surgical-indication", "术后病理：支气管切缘阴性，pN0。", True),
    ("lungca-lymph-node-dissection", "术后病理：第7组淋巴结(0/3)，第10组淋巴结(0/2)。", True),
]


@parametrize_cases(CASES)
async def test_lungca_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="lungca") is expected
