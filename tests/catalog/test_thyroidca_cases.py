"""Hand-written cases for the thyroidca spec (甲状腺癌): the indicator without dev rows (central dissection) and negated/planned phrasings."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("thyroidca-central-neck-dissection", "全麻下行甲状腺全切除+双侧中央区淋巴结清扫术，手术顺利。", True),
    ("thyroidca-central-neck-dissection", "术后病理：甲状腺乳头状癌，右侧VI区淋巴结(2/6)见癌转移。", True),
    ("thyroidca-central-neck-dissection", "行右侧甲状腺腺叶切除术，未行中央区淋巴结清扫。", False),
    ("thyroidca-central-neck-dissection", "行左侧甲状腺腺叶及峡部切除术，术后病理：乳头状微小癌。", False),
    (
        "thyroidca-lateral-neck-dissection",
        "行甲状腺全切+中央区淋巴结清扫术，术后病理：中央区淋巴结(1/5)见转移。",
        False,
    ),
    ("thyroidca-lateral-neck-dissection", "彩超：左颈侧区淋巴结肿大，建议行颈侧区淋巴结清扫。", False),
    ("thyroidca-lateral-neck-dissection", "行甲状腺全切+左侧改良根治性颈淋巴结清扫术（Ⅱ-Ⅳ区）。", True),
    ("thyroidca-preop-cytology", "超声引导下细针穿刺细胞学：Bethesda Ⅵ类，甲状腺乳头状癌。", True),
    ("thyroidca-preop-cytology", "建议行细针穿刺活检，患者拒绝，要求直接手术。术中冰冻：乳头状癌。", False),
    ("thyroidca-staging-workup", "甲状腺彩超：右叶低回声结节TI-RADS 4b类。胸部CT：双肺未见结节。", True),
    (
        "thyroidca-staging-workup",
        "甲状腺彩超：右叶低回声结节TI-RADS 4b类。颈部增强CT：右颈部淋巴结肿大。",
        False,
    ),
]


@parametrize_cases(CASES, indexed_ids=False)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="thyroidca") is expected
