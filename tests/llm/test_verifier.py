"""LLMFactVerifier and the zero-shot judge with an in-memory client: the evidence rule and failure paths."""

from __future__ import annotations

from typing import Any

import pytest

from agents.llm.types import LLMBadResponseError, LLMUnavailableError
from agents.llm.verifier import LLMFactVerifier
from agents.llm.zero_shot import ZeroShotJudge
from agents.verifiers.context import VerificationContext
from measures.catalog import FactSpec, IndicatorSpec
from tests.llm.conftest import NOTE, note_context
from tests.llm.fakes import FakeClient

BOOL = FactSpec(id="swallow", question="是否完成吞咽功能筛查", type="boolean", evidence="洼田饮水试验")
NUM = FactSpec(id="nihss", question="NIHSS评分", type="number", unit="分", evidence="NIHSS评分数值")
CAT = FactSpec(
    id="route", question="再灌注方式", type="category", values=["溶栓", "PCI"], evidence="治疗记录"
)


SPEC = IndicatorSpec.model_validate(
    {
        "key": "脑梗死（首次住院）（STK）质控指标_脑梗死患者吞咽功能筛查率",
        "id": "stk-test",
        "title": "脑梗死患者吞咽功能筛查率",
        "text": {
            "definition": "住院脑梗死患者中进行吞咽功能筛查的比例。",
            "numerator": "进行吞咽功能筛查的脑梗死患者",
            "denominator": "同期住院脑梗死患者",
        },
        "denominator": {},
        "facts": [BOOL.model_dump()],
        "rule": "swallow",
    }
)


def answer(value: Any, quote: str = "", reason: str = "r") -> dict[str, Any]:
    return {"evidence_quote": quote, "reason": reason, "value": value}


async def test_verbatim_quote_gives_known_verdict_with_offsets(ctx: VerificationContext) -> None:
    client = FakeClient(answer(True, "“洼田饮水试验2级，吞咽功能筛查已完成。”"))  # wrapping marks dropped
    trace = await LLMFactVerifier(client, confidence=0.4).verify_with_trace(BOOL, ctx)
    v = trace.verdict
    assert v.value is True
    assert v.method == "llm"
    assert v.confidence == 0.4
    ev = v.evidence[0]
    assert ev.reference == "DocumentReference/d1"
    assert NOTE[ev.start : ev.end] == ev.quote == "洼田饮水试验2级，吞咽功能筛查已完成"
    assert trace.prompt_version
    assert trace.prompt_version in (v.detail or "")
    assert v.provenance["prompt"] == trace.prompt_version
    assert v.provenance["model"]
    assert client.requests[0].schema is not None
    assert client.requests[0].schema["properties"]["value"] == {"enum": [True, False, None]}


async def test_quote_matches_after_whitespace_normalisation(ctx: VerificationContext) -> None:
    v = await LLMFactVerifier(FakeClient(answer(5, "病史10年。   入院NIHSS评分5分"))).verify(NUM, ctx)
    assert v.value == 5.0
    ev = v.evidence[0]
    assert ev.quote == "病史10年。\n入院NIHSS评分5分" == NOTE[ev.start : ev.end]


async def test_hallucinated_quote_voids_the_verdict_and_is_counted(ctx: VerificationContext) -> None:
    client = FakeClient(answer(True, "洼田饮水试验1级"))
    trace = await LLMFactVerifier(client).verify_with_trace(BOOL, ctx)
    assert trace.verdict.value is None
    assert trace.hallucinated_quote
    assert "hallucinated" in (trace.verdict.detail or "")
    assert (ctx.stats.quotes_checked, ctx.stats.quotes_discarded, ctx.stats.verdicts_voided) == (1, 1, 1)


async def test_number_and_category_values(ctx: VerificationContext) -> None:
    v = await LLMFactVerifier(FakeClient(answer(5, "入院NIHSS评分5分"))).verify(NUM, ctx)
    assert v.value == 5.0
    v = await LLMFactVerifier(FakeClient(answer("溶栓", "予阿替普酶静脉溶栓治疗"))).verify(CAT, ctx)
    assert v.value == "溶栓"
    v = await LLMFactVerifier(FakeClient(answer("手术", "予阿替普酶静脉溶栓治疗"))).verify(CAT, ctx)
    assert v.value is None
    assert "bad-response" in (v.detail or "")


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (answer(None), "cannot tell"),
        (answer(True, ""), "without an evidence quote"),
        (answer(False, ""), "without an evidence quote"),
        ({"value": "yes", "extra": 1}, "bad-response"),
        (LLMUnavailableError("connection refused after 4 attempt(s)"), "llm unavailable"),
        (LLMBadResponseError("output cut at max_tokens=256"), "llm bad-response"),
    ],
)
async def test_unknown_paths(reply: Any, detail: str, ctx: VerificationContext) -> None:
    v = await LLMFactVerifier(FakeClient(reply)).verify(BOOL, ctx)
    assert v.value is None
    assert v.method == "llm"
    assert detail in (v.detail or "")


async def test_unquoted_false_only_when_allowed(ctx: VerificationContext) -> None:
    v = await LLMFactVerifier(FakeClient(answer(False)), accept_unquoted_false=True).verify(BOOL, ctx)
    assert v.value is False
    assert v.evidence[0].reference == "DocumentReference/d1"
    assert v.evidence[0].quote is None


async def test_no_model_and_no_notes() -> None:
    v = await LLMFactVerifier(None).verify(BOOL, note_context())
    assert v.value is None
    assert "no language model configured" in (v.detail or "")
    empty = note_context("")
    v = await LLMFactVerifier(FakeClient(answer(True, "x"))).verify(BOOL, empty)
    assert v.value is None
    assert "no note" in (v.detail or "")


async def test_prompt_carries_indicator_sentences_and_knowledge(ctx: VerificationContext) -> None:
    spec = SPEC
    client = FakeClient(answer(None))
    await LLMFactVerifier(client).verify(BOOL, ctx.for_indicator(spec))
    user = client.requests[0].messages[1]["content"]
    assert "脑梗死" in user
    assert "洼田饮水试验2级" in user
    assert "是否完成吞咽功能筛查" in user


async def test_zero_shot_judge() -> None:
    spec = SPEC
    notes = note_context().notes
    j = await ZeroShotJudge(FakeClient(answer(True, "吞咽功能筛查已完成"))).judge(spec, notes)
    assert j.value is True
    assert j.evidence[0].quote == "吞咽功能筛查已完成"
    assert j.prompt_version
    assert j.prompt_version.startswith("zero_shot_indicator/v1+")
    j = await ZeroShotJudge(FakeClient(answer(True, "未提及"))).judge(spec, notes)
    assert j.value is None
    assert j.hallucinated_quote
    j = await ZeroShotJudge(FakeClient(answer(False))).judge(spec, notes)
    assert j.value is False
    j = await ZeroShotJudge(FakeClient(LLMUnavailableError("down"))).judge(spec, notes)
    assert j.value is None
    assert "unavailable" in j.detail
    j = await ZeroShotJudge(None).judge(spec, notes)
    assert j.value is None
    assert "no language model" in j.detail


async def test_defer_to_lexicon_skips_the_model(ctx: VerificationContext) -> None:
    lexiconed = FactSpec(
        id="swallow", question="是否完成吞咽功能筛查", evidence="洼田", lexicon="swallow_screen"
    )
    client = FakeClient(answer(True, "吞咽功能筛查已完成"))
    v = await LLMFactVerifier(client, defer_to_lexicon=True).verify(lexiconed, ctx)
    assert v.value is None
    assert "lexicon" in (v.detail or "")
    assert client.requests == []
    v = await LLMFactVerifier(client, defer_to_lexicon=True).verify(BOOL, ctx)  # no lexicon: asked
    assert v.value is True
