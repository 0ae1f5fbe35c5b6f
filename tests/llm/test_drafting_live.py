"""Abstractive drafting against a real llama-server (SmolLM2-135M, the one the LLM tests start).

The model is too small to write good Chinese clinical prose; what must hold whatever it writes: the draft
comes back within the deadline, complete, every shown sentence verified against the record (quotes
verbatim, rewritten sentences supported by the sentences they cite), each section saying what produced
it, and every rewritten sentence dropped or shown, none lost.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.drafting.abstractive import AbstractiveDrafter
from agents.drafting.drafter import draft_summary, verified
from agents.drafting.labelled import load_records
from agents.icd.suggest import suggest
from agents.llm.gateway import LLMGateway
from fhir_ops.data_access.record import record_from_resources
from knowledge_base.icd.index import IcdIndex
from knowledge_base.icd.table import load_table
from medqc.commands.eval_docs import RECORDS_DIR
from tests.llm.server import LlamaServer

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]  # a real CPU model (llama-server): make test only
SUBSET = Path(__file__).resolve().parents[1] / "data" / "icd" / "icd10_subset.csv"
DEADLINE_S = 240.0


@pytest.fixture
async def gateway(llama_server: LlamaServer) -> AsyncIterator[LLMGateway]:
    gw = LLMGateway(llama_server.base_url, "smollm2", timeout_s=DEADLINE_S, max_retries=2)
    yield gw
    await gw.aclose()


async def test_a_real_model_s_draft_shows_only_verified_sentences(gateway: LLMGateway) -> None:
    labelled = next(r for r in load_records(RECORDS_DIR / "dev") if r.id == "D01")
    record = record_from_resources(labelled.resources())
    draft = draft_summary(record, suggest(record, IcdIndex(load_table(SUBSET))))
    started = time.perf_counter()
    out = await AbstractiveDrafter(gateway, DEADLINE_S).rewrite(draft, record)
    assert time.perf_counter() - started < DEADLINE_S + 5
    assert gateway.usage.requests + gateway.usage.cache_hits >= 1  # the model was really asked
    assert out.complete
    notes = {n.reference: n.text for n in record.notes}
    assert all(verified(s, notes) for s in out.sentences())
    course = next(s for s in out.sections if s.name == "诊疗经过")
    if course.mode == "abstractive":
        assert out.model is not None
        assert out.prompt is not None
        assert all(s.sources for s in course.sentences)
    else:
        assert course.fallback is not None  # and the extractive sentences are kept
        assert course.sentences == next(s for s in draft.sections if s.name == "诊疗经过").sentences
    assert out.unverified == draft.unverified + sum(s.dropped for s in out.sections)
