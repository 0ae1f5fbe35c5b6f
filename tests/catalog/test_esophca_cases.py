"""Hand-written cases for the esophca spec (食管癌): positive, negative, negated/planned phrasings.

Covers the indicators without dev rows and the rules' edge cases (thresholds, staging completeness, station lists).
"""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("esophca-pathology-before-treatment", "胃镜：距门齿30cm见溃疡型肿物，活检病理示：鳞状细胞癌。", True),
    ("esophca-pathology-before-treatment", "上消化道造影示食管中段充盈缺损，考虑食管癌，拟行放疗。", False),
    ("esophca-pathology-before-treatment", "胃镜活检病理：（食管）高级别上皮内瘤变。", False),
    (
        "esophca-lymph-nodes-15",
        "行食管癌根治术（三野淋巴结清扫）。术后病理：鳞状细胞癌，淋巴结(2/25)见转移。",
        True,
    ),
    ("esophca-lymph-nodes-15", "术后病理：食管鳞癌，淋巴结共检出11枚，均未见转移。", False),
    ("esophca-lymph-nodes-15", "术后病理：中分化鳞癌，共检出淋巴结16枚，2枚见癌转移。", True),
    (
        "esophca-staging-workup",
        "胃镜示食管中段肿物。胸部及上腹部增强CT：食管壁增厚。颈部彩超：未见肿大淋巴结。",
        True,
    ),
    ("esophca-staging-workup", "胃镜示食管中段肿物。胸部CT：食管壁增厚。", False),
    ("esophca-staging-workup", "超声胃镜：食管中段病变侵及外膜。PET-CT示食管中段高代谢。", True),
    ("esophca-lymph-nodes-15", "术后病理：食管鳞癌，淋巴结转移（3/28）。", True),
]


@parametrize_cases(CASES)
async def test_esophca_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="esophca") is expected
