"""Hand-written cases for the crc spec (结直肠癌): positive, negative, negated/planned phrasings.

Covers the indicators without dev rows and the rules' edge cases (thresholds, staging completeness, station lists).
"""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("crc-lymph-nodes-12", "术后病理：直肠腺癌，肠周淋巴结(1/18)见癌转移。", True),
    ("crc-lymph-nodes-12", "术后病理：乙状结肠腺癌，肠系膜淋巴结0/10。", False),
    ("crc-staging-workup", "胸部CT平扫+增强、全腹部及盆腔增强CT：乙状结肠壁增厚。", True),
    ("crc-staging-workup", "胸腹盆CT平扫：直肠壁增厚。", False),
    ("crc-pathology-before-nonsurgical", "肠镜活检病理：（直肠）中分化腺癌。行新辅助放化疗。", True),
    ("crc-pathology-before-nonsurgical", "肠镜示直肠肿物，考虑直肠癌，活检病理未回即行化疗。", False),
    ("crc-lymph-nodes-12", "术后病理：（肠系膜淋巴结）0/14，未见转移。", True),
    ("crc-lymph-nodes-12", "术后病理：LN 0/15。", True),
    ("crc-pathology-before-nonsurgical", "肠镜：直肠距肛缘5cm溃疡型肿物，活检：（直肠）黏液腺癌。", True),
]


@parametrize_cases(CASES)
async def test_crc_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="crc") is expected
