"""Hand-written cases for the ep spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

from tests.catalog.cases import Case, numerator, parametrize_cases

CASES: list[Case] = [
    (
        "ep-psvt-ablation-success",
        "诊断AVNRT，行慢径改良消融，消融后静滴异丙肾上腺素，心房程序刺激不能诱发心动过速，手术成功。",
        True,
    ),
    ("ep-psvt-ablation-success", "左侧旁道消融，放电后VA分离，手术成功。", False),
    ("ep-psvt-ablation-success", "消融后异丙肾上腺素激发仍可诱发心动过速，继续标测。", False),
]


@parametrize_cases(CASES)
async def test_ep_case(measure_id: str, text: str, expected: bool) -> None:
    assert await numerator(measure_id, text, slug="ep") is expected
