"""Hand-written cases for the um spec (子宫肌瘤): the indicators without dev rows and negated phrasings."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    # 术前评估率
    (
        "um-preop-assessment",
        "妇科检查：子宫增大如孕3月。辅助检查：B超示子宫多发肌瘤。宫颈TCT：未见上皮内病变。血常规、尿常规、凝血功能、肝肾功能、电解质正常，"
        "血型A型Rh阳性，输血前四项阴性，心电图正常，胸片未见异常。",
        True,
    ),
    (
        "um-preop-assessment",
        "妇科检查：子宫增大如孕3月。辅助检查：B超示子宫多发肌瘤。血常规、尿常规、凝血功能、肝肾功能、电解质正常，"
        "血型A型Rh阳性，输血前四项阴性，心电图正常，胸片未见异常。",
        False,
    ),
    ("um-preop-assessment", "妇科检查：子宫增大。B超示子宫肌瘤。完善术前检查。", False),
    # 手术指征
    ("um-surgical-indication", "超声：宫腔内见一2.0cm低回声，考虑黏膜下肌瘤。", True),
    ("um-surgical-indication", "患者结婚3年未避孕未孕，超声示子宫肌壁间肌瘤5cm。", True),
    ("um-surgical-indication", "体检发现子宫肌瘤，月经规律，量中，无尿频尿急，无便秘。", False),
    # 术中止血
    (
        "um-intraop-hemostasis",
        "手术经过：于肌瘤周围肌层注射稀释垂体后叶素6U，切开肌瘤包膜完整剥除肌瘤。",
        True,
    ),
    ("um-intraop-hemostasis", "手术经过：以橡胶尿管环扎子宫下段作止血带，剔除肌瘤后缝合。", True),
    ("um-intraop-hemostasis", "手术经过：腹腔镜下行子宫肌瘤剔除术，电凝止血，手术顺利。", False),
    # 术中出血
    ("um-intraop-hemorrhage", "手术经过：行子宫肌瘤剔除术，术中出血约1200ml，输悬浮红细胞4U。", True),
    ("um-intraop-hemorrhage", "手术顺利，术中出血约1000ml。", False),
    ("um-intraop-hemorrhage", "手术顺利，术中出血约50ml，术后安返病房。", False),
    # 出院宣教
    (
        "um-discharge-education",
        "出院医嘱：术后1个月门诊复查；术后避孕2年，再次妊娠时有子宫破裂风险，需告知产科医师。",
        True,
    ),
    ("um-discharge-education", "出院医嘱：注意休息，1个月后门诊复查。", False),
]


@parametrize_cases(CASES, indexed_ids=False)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="um") is expected
