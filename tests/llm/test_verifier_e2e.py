"""The LLM verifier end to end over HTTP against a real llama-server (SmolLM2-135M).

The model is far too small to be right on Chinese clinical facts: these tests prove the plumbing (schema,
evidence rule, cache, retries, fallback), not the accuracy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agents.llm.gateway import LLMGateway
from agents.llm.schemas import answer_schema, parse_answer
from agents.llm.types import ChatRequest, LLMUnavailableError
from agents.llm.verifier import LLMFactVerifier, LLMVerification
from agents.verifiers.context import VerificationContext
from agents.verifiers.policy import default_policy
from measures.catalog import FactSpec
from tests.llm.conftest import note_context
from tests.llm.server import LlamaServer

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]  # a real CPU model (llama-server): make test only

FACTS = [
    FactSpec(id="nihss_done", question="是否进行了NIHSS评分", type="boolean", evidence="NIHSS评分记录"),
    FactSpec(id="swallow", question="是否完成吞咽功能筛查", type="boolean", evidence="洼田饮水试验等"),
    FactSpec(id="nihss", question="NIHSS评分是多少", type="number", unit="分", evidence="NIHSS评分数值"),
]


@pytest.fixture
async def gateway(llama_server: LlamaServer) -> AsyncIterator[LLMGateway]:
    gw = LLMGateway(
        llama_server.base_url, "smollm2", timeout_s=240, max_retries=6, backoff_initial_s=0.5, backoff_max_s=4
    )
    yield gw
    await gw.aclose()


def verifier(gw: LLMGateway) -> LLMFactVerifier:
    return LLMFactVerifier(gw, max_tokens=600)


def assert_evidence_rule(trace: LLMVerification, ctx: VerificationContext) -> None:
    verdict = trace.verdict
    assert verdict.method == "llm"
    if verdict.known:
        assert verdict.evidence, "a known verdict needs evidence"
        for ev in verdict.evidence:
            note = ctx.note(ev.reference)
            assert note is not None
            assert ev.start is not None
            assert ev.end is not None
            assert note.text[ev.start : ev.end] == ev.quote
    if trace.hallucinated_quote:
        assert not verdict.known


async def test_facts_over_http_obey_schema_and_evidence_rule(gateway: LLMGateway) -> None:
    ctx, v = note_context(), verifier(gateway)
    complete = 0
    for fact in FACTS:
        trace = await v.verify_with_trace(fact, ctx)
        assert trace.prompt_version
        assert trace.prompt_version.startswith("fact_verification/v1+")
        assert_evidence_rule(trace, ctx)
        answer = trace.answer
        if answer is None:  # only a cut-off (max_tokens) answer may fail to parse
            assert "bad-response" in (trace.verdict.detail or "")
            continue
        assert answer.finish_reason == "stop"
        assert set(answer.data) == set(answer_schema(fact)["properties"])
        parse_answer(fact, answer.data)  # value of the fact's type (or null)
        assert answer.prompt_tokens > 0
        assert answer.completion_tokens > 0
        complete += 1
    assert complete >= 1, "the constrained output should complete for at least one fact"
    assert gateway.usage.requests == len(FACTS)


async def test_second_call_is_served_from_cache_without_http(
    gateway: LLMGateway, llama_server: LlamaServer
) -> None:
    ctx, v = note_context(), verifier(gateway)
    first = await v.verify_with_trace(FACTS[0], ctx)
    if first.answer is None:
        pytest.skip("first answer was cut off; nothing cached")
    requests = gateway.usage.requests
    llama_server.stop()  # no server at all: only the cache can answer
    try:
        second = await v.verify_with_trace(FACTS[0], ctx)
    finally:
        llama_server.start()
    assert second.answer is not None
    assert second.answer.cached
    assert gateway.usage.requests == requests
    assert gateway.usage.cache_hits >= 1
    assert second.verdict.value == first.verdict.value
    assert "cached" in (second.verdict.detail or "")


async def test_retries_on_a_fresh_connection_after_the_server_is_killed_and_restarted(
    gateway: LLMGateway, llama_server: LlamaServer
) -> None:
    request = ChatRequest(
        messages=({"role": "user", "content": "Say OK."},), prompt_version="test/v1", max_tokens=8
    )
    warm = await gateway.complete(request)  # leaves a keep-alive connection in the pool
    assert warm.attempts == 1
    llama_server.kill()

    async def restart_later() -> None:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(llama_server.start)

    restarting = asyncio.create_task(restart_later())
    answer = await gateway.complete(
        ChatRequest(
            messages=({"role": "user", "content": "Say yes."},), prompt_version="test/v1", max_tokens=8
        )
    )
    await restarting
    assert answer.attempts > 1
    assert answer.content is not None


async def test_server_down_gives_unknown_verdict_not_an_exception(llama_server: LlamaServer) -> None:
    gw = LLMGateway(llama_server.base_url, "smollm2", max_retries=1, backoff_initial_s=0.05, timeout_s=5)
    llama_server.stop()
    try:
        with pytest.raises(LLMUnavailableError):
            await gw.complete(ChatRequest(messages=({"role": "user", "content": "x"},), prompt_version="t"))
        ctx = note_context()
        trace = await LLMFactVerifier(gw).verify_with_trace(FACTS[0], ctx)
        assert trace.verdict.value is None
        assert trace.verdict.method == "llm"
        assert "unavailable" in (trace.verdict.detail or "")
        # hybrid: structured + lexical + the (down) model: a verdict, never an exception
        policy = default_policy([LLMFactVerifier(gw)], threshold=0.3)
        verdicts = await policy.verify_all(FACTS, note_context())
        assert set(verdicts) == {f.id for f in FACTS}
        assert all(v.method in {"structured", "lexical", "llm", "none"} for v in verdicts.values())
    finally:
        await gw.aclose()
        llama_server.start()


async def test_qc_evaluate_with_the_model_down_flags_review(llama_server: LlamaServer) -> None:
    """A fact only the model could answer, model down: the report says needs-review, no error."""
    from agents.qc_evaluate import RuleOracle, qc_evaluate
    from agents.qc_report import EXT_NEEDS_REVIEW
    from tests.llm.test_verifier import SPEC

    gw = LLMGateway(llama_server.base_url, "smollm2", max_retries=1, backoff_initial_s=0.05, timeout_s=5)
    llama_server.stop()
    try:
        ctx = note_context()
        policy = default_policy([LLMFactVerifier(gw)], threshold=0.3)
        bundle = await qc_evaluate(
            ctx.record, measures=[SPEC], denominator_asserted=True, policy=policy, judge=RuleOracle()
        )
    finally:
        await gw.aclose()
        llama_server.start()
    group = bundle["entry"][0]["resource"]["group"][0]
    review = next(e for e in group["extension"] if e["url"] == EXT_NEEDS_REVIEW)
    assert review["valueBoolean"] is True
