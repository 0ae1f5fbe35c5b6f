"""Hand-written cases for the prostateca spec (前列腺癌): staging completeness, refused/negative biopsy, planned bone scan."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "prostateca-pathological-tnm",
        "行腹腔镜前列腺癌根治术，术后病理：前列腺腺癌，Gleason 4+3=7分，病理分期pT3aN0M0。",
        True,
    ),
    ("prostateca-pathological-tnm", "术后病理：前列腺腺癌，Gleason 3+4=7分，pT2N0。", False),
    ("prostateca-pathological-tnm", "术前MRI：T2WI前列腺外周带低信号，临床分期cT2N0M0。", False),
    (
        "prostateca-pathology-before-nonsurgical",
        "经直肠超声引导下前列腺穿刺活检：12针中5针见腺癌，Gleason评分4+4=8分，予戈舍瑞林内分泌治疗。",
        True,
    ),
    (
        "prostateca-pathology-before-nonsurgical",
        "PSA 56ng/ml，MRI考虑前列腺癌，患者拒绝穿刺活检，予比卡鲁胺内分泌治疗。",
        False,
    ),
    ("prostateca-pathology-before-nonsurgical", "前列腺穿刺活检病理：前列腺增生，未见癌。", False),
    (
        "prostateca-staging-workup",
        "胸部CT未见转移，腹部彩超未见异常，前列腺MRI示外周带病灶，全身骨扫描未见骨转移。",
        True,
    ),
    ("prostateca-staging-workup", "PSMA PET-CT：前列腺左叶代谢增高灶，未见远处转移。", True),
    (
        "prostateca-staging-workup",
        "胸部CT未见转移，腹部彩超未见异常，前列腺MRI示外周带病灶，建议行全身骨扫描。",
        False,
    ),
]


@parametrize_cases(CASES, indexed_ids=False)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="prostateca") is expected
