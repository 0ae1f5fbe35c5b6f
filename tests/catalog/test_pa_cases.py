"""Hand-written cases for the pa spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    ("pa-resection-extent", "经鼻蝶入路垂体腺瘤切除术，镜下肿瘤全切。术后MRI示未见肿瘤残留。", True),
    ("pa-resection-extent", "术后MRI示肿瘤近全切除，鞍内少许残留。", True),
    ("pa-resection-extent", "肿瘤侵袭海绵窦，予次全切除。", False),
    ("pa-resection-extent", "磨除鞍底骨质，部分切除蝶窦前壁，肿瘤部分切除。", False),
    ("pa-resection-extent", "行经鼻蝶入路垂体腺瘤切除术，术后恢复可。", False),
]


@parametrize_cases(CASES)
async def test_pa_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="pa") is expected
