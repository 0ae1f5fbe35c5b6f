"""Abstractive drafting at the model's edge (a scripted fake model): a sentence whose claims its cited
record sentences do not support is dropped and counted, never shown; a model failure or a slow model
leaves the extractive section, within the deadline; the draft says which mode produced each section."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

import pytest

from agents.drafting.abstractive import AbstractiveDrafter
from agents.drafting.document import EXT_SECTION, EXT_UNSUPPORTED, document_reference, provenance
from agents.drafting.drafter import Draft, draft_summary, verified
from agents.drafting.labelled import parse_record
from agents.icd.suggest import suggest
from agents.llm.types import ChatRequest, LLMAnswer, LLMUnavailableError
from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from knowledge_base.icd.index import IcdIndex
from knowledge_base.icd.table import load_table
from tests.llm.fakes import FakeClient

SUBSET = Path(__file__).resolve().parents[1] / "data" / "icd" / "icd10_subset.csv"
RECORD = """病案标识：A1
科室：心血管内科
入院日期：2024-03-02
出院日期：2024-03-09
主诉：胸痛6小时。
入院情况：肌钙蛋白I 5.6ng/ml。
入院诊断：1.急性前壁心肌梗死 2.高血压病
诊疗经过：入院后予阿司匹林300mg、替格瑞洛180mg负荷量口服。急诊行冠状动脉造影示前降支近段完全闭塞，于前降支植入支架1枚。术后予阿司匹林100mg qd、替格瑞洛90mg bid双联抗血小板。2024-03-04复查心脏超声示左室射血分数48%。
出院情况：患者无胸痛、胸闷，一般情况可。
出院医嘱：阿司匹林100mg qd。
主要诊断编码：I21.001
"""
SUPPORTED = "急诊冠状动脉造影示前降支近段完全闭塞，植入支架1枚。"
UNSUPPORTED = "术后出现心力衰竭，予呋塞米20mg静推。"  # nothing of it is in the record
REBOUND = "术后予阿司匹林90mg qd抗血小板。"  # 90 is ticagrelor's dose in the record


def _draft() -> tuple[Draft, EncounterRecord]:
    record = record_from_resources(parse_record(RECORD, "A1").resources())
    return draft_summary(record, suggest(record, IcdIndex(load_table(SUBSET)))), record


def _course(*sentences: tuple[list[int], str]) -> dict[str, Any]:
    return {"sentences": [{"sources": s, "text": t} for s, t in sentences]}


def _section(draft: Draft, name: str) -> Any:
    return next(s for s in draft.sections if s.name == name)


def _text(doc: dict[str, Any]) -> str:
    return base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8")


def test_an_unsupported_sentence_is_dropped_and_counted_the_supported_one_kept() -> None:
    draft, record = _draft()
    model = FakeClient(_course(([2], SUPPORTED), ([1, 3], UNSUPPORTED), ([3], REBOUND)))
    out = asyncio.run(AbstractiveDrafter(model, deadline_s=5).rewrite(draft, record))
    course = _section(out, "诊疗经过")
    assert course.mode == "abstractive"
    assert [s.text for s in course.sentences] == [SUPPORTED]
    assert course.dropped == 2
    assert out.unverified == draft.unverified + 2
    notes = {n.reference: n.text for n in record.notes}
    assert all(verified(s, notes) for s in out.sentences())
    doc = document_reference(out, record, resource_id="discharge-A1")
    text = _text(doc)
    assert SUPPORTED in text
    assert "呋塞米" not in text
    assert "阿司匹林90mg" not in text
    assert next(e["valueInteger"] for e in doc["extension"] if e["url"] == EXT_UNSUPPORTED) == 2
    # the extractive draft was not changed in place
    assert _section(draft, "诊疗经过").mode == "extractive"


def test_sections_say_what_produced_them_and_provenance_names_model_and_prompt() -> None:
    draft, record = _draft()
    out = asyncio.run(AbstractiveDrafter(FakeClient(_course(([2], SUPPORTED))), 5).rewrite(draft, record))
    doc = document_reference(out, record, resource_id="discharge-A1")
    modes = {
        parts["section"]: parts
        for ext in doc["extension"]
        if ext["url"] == EXT_SECTION
        for parts in [
            {p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in ext["extension"]}
        ]
    }
    assert modes["诊疗经过"]["mode"] == "abstractive"
    assert modes["诊疗经过"]["model"] == "fake"
    assert modes["诊疗经过"]["prompt"].startswith("discharge_summary/v1+")
    assert modes["出院情况"]["mode"] == "extractive"  # one sentence: nothing to condense
    assert modes["入院日期"]["mode"] == "extractive"
    prov = provenance(out, record, target="DocumentReference/discharge-A1/_history/1", resource_id="p")
    versions = {e["url"]: e["valueString"] for e in prov["extension"][0]["extension"]}
    assert versions["model"] == "fake"
    assert versions["prompt"] == out.prompt
    assert any("language model fake" in a["who"]["display"] for a in prov["agent"])


def test_a_failing_model_leaves_the_extractive_section() -> None:
    draft, record = _draft()
    out = asyncio.run(AbstractiveDrafter(FakeClient(LLMUnavailableError("down")), 5).rewrite(draft, record))
    course = _section(out, "诊疗经过")
    assert course.mode == "extractive"
    assert course.fallback == "model unavailable"
    assert course.sentences == _section(draft, "诊疗经过").sentences
    assert out.model is None


def test_a_section_with_only_unsupported_sentences_stays_extractive() -> None:
    draft, record = _draft()
    out = asyncio.run(AbstractiveDrafter(FakeClient(_course(([1], UNSUPPORTED))), 5).rewrite(draft, record))
    course = _section(out, "诊疗经过")
    assert (course.mode, course.fallback, course.dropped) == ("extractive", "no supported sentence", 1)
    assert course.sentences == _section(draft, "诊疗经过").sentences
    assert out.unverified == draft.unverified + 1


def test_a_date_outside_the_stay_is_not_let_through() -> None:
    draft, record = _draft()
    # every token is in source 4, but the rewrite moves the date out of the stay: the validator objects
    outside = "2024-03-04复查心脏超声示左室射血分数48%。"
    out = asyncio.run(AbstractiveDrafter(FakeClient(_course(([4], outside))), 5).rewrite(draft, record))
    assert _section(out, "诊疗经过").sentences[0].text == outside
    moved = "2024-04-03复查心脏超声示左室射血分数48%。"
    out = asyncio.run(AbstractiveDrafter(FakeClient(_course(([4], moved))), 5).rewrite(draft, record))
    assert _section(out, "诊疗经过").mode == "extractive"


class _Slow:
    model = "slow"

    async def complete(self, request: ChatRequest) -> LLMAnswer:
        await asyncio.sleep(30)
        raise AssertionError("not reached")


def test_a_slow_model_degrades_to_extractive_within_the_deadline() -> None:
    draft, record = _draft()
    started = time.perf_counter()
    out = asyncio.run(AbstractiveDrafter(_Slow(), deadline_s=0.3).rewrite(draft, record))
    assert time.perf_counter() - started < 2
    course = _section(out, "诊疗经过")
    assert course.mode == "extractive"
    assert course.fallback is not None
    assert course.fallback.startswith("deadline")
    assert [s.text for s in out.sentences()] == [s.text for s in draft.sentences()]


@pytest.mark.parametrize(
    ("sources", "text"),
    [
        ([9], SUPPORTED),  # a source that does not exist
        ([3], "术后予阿司匹林100mg qd、替格瑞洛90mg bid双联抗血小板，无出血。"),  # 出血 not in the record
        ([5], "患者有胸痛。"),  # polarity flipped (出院情况 says 无胸痛; not a source of the course either)
    ],
)
def test_bad_citations_are_dropped(sources: list[int], text: str) -> None:
    draft, record = _draft()
    out = asyncio.run(AbstractiveDrafter(FakeClient(_course((sources, text))), 5).rewrite(draft, record))
    assert _section(out, "诊疗经过").mode == "extractive"
    assert text not in "".join(s.text for s in out.sentences())


def test_the_evaluation_compares_both_modes_and_counts_what_the_model_lost() -> None:
    from agents.drafting.labelled import load_records
    from medqc.commands.eval_docs import RECORDS_DIR, evaluate_notes_abstractive

    records = [r for r in load_records(RECORDS_DIR / "dev") if r.id in {"D01", "D02"}]
    model = FakeClient(_course(([1], "予阿司匹林300mg。"), ([1], UNSUPPORTED)))
    index = IcdIndex(load_table(SUBSET))
    result = asyncio.run(evaluate_notes_abstractive(records, AbstractiveDrafter(model, 5), index))
    assert result["extractive"]["n"] == result["abstractive"]["n"] == 2
    assert result["abstractive"]["shown_unverified"] == 0
    assert result["model_sentences"]["dropped"] >= 2  # the furosemide sentence, once per record
    assert result["sections"]["targeted"] == 4
    assert result["rewritten_sections"]["compression"] < 1
