"""The lexical path is linear in the note and bounded in size: long notes, pathological text, the limit."""

from __future__ import annotations

import re
import time

import pytest

from agents.lexical.document import MAX_CLAUSE, MAX_SENTENCE, analyse
from agents.lexical.lexicon import LEXICON_DIR, load_lexicon_file
from agents.lexical.limits import NoteTooLarge, check_note_sizes
from agents.lexical.mentions import _term_pattern
from agents.lexical.prefilter import guarded
from agents.lexical.verifier import LexicalVerifier
from agents.verifiers.context import VerificationContext
from fhir_ops.data_access.record import Note
from fhir_ops.errors import BadRequest
from measures.catalog import indicator_specs
from tests.support.notes import note_record

CLAUSES = (
    "主诉：胸痛3小时。",
    "诊疗经过：予阿司匹林300mg嚼服，氯吡格雷300mg口服，急诊行PCI术。",
    "患者拒绝行冠脉造影，未予溶栓。",
    "术后病理：淋巴结未见转移（0/12），切缘阴性。",
    "出院医嘱：阿托伐他汀20mg qn，美托洛尔47.5mg qd。",
)
#: Every lexical fact of the STEMI indicators (drugs, procedures, numbers, discharge context).
FACTS = {f.id: f for s in indicator_specs() if "STEMI" in s.key for f in s.all_facts if f.lexicon}


def _note(chars: int) -> str:
    text = "".join(CLAUSES)
    return (text * (chars // len(text) + 1))[:chars]


async def _verify_all(text: str) -> float:
    assert len(FACTS) > 10
    ctx = VerificationContext(record=note_record(text))
    verifier = LexicalVerifier()
    t0 = time.process_time()
    for fact in FACTS.values():
        await verifier.verify(fact, ctx)
    return time.process_time() - t0


async def test_time_grows_linearly_with_the_note() -> None:
    await _verify_all(_note(500))  # lexicons loaded and compiled
    small = await _verify_all(_note(20_000))
    large = await _verify_all(_note(200_000))
    # ten times the text: about ten times the time (quadratic passes would take ~100 times)
    assert large < max(small, 0.01) * 30, (small, large)


async def test_text_without_punctuation_is_bounded() -> None:
    """One 40,000-character run of mentions with no sentence or clause end: split into bounded pieces."""
    text = "阿司匹林" * 10_000
    doc = analyse(text)
    assert all(s.end - s.start <= MAX_SENTENCE for s in doc.sentences)
    assert all(c.end - c.start <= MAX_CLAUSE for c in doc.sentences[0].clauses)
    assert await _verify_all(text) < 5


def test_long_sentences_are_cut_at_a_clause_end() -> None:
    text = "，".join(["予阿司匹林口服"] * 400) + "。"
    doc = analyse(text)
    assert len(doc.sentences) > 1
    assert all(s.text.endswith(("，", "。")) for s in doc.sentences)
    assert "".join(s.text for s in doc.sentences) == text


def test_note_size_limit_is_a_400() -> None:
    big = Note(reference="DocumentReference/9", text="出" * 1000)
    check_note_sizes([big], 3000)
    with pytest.raises(NoteTooLarge) as caught:
        check_note_sizes([Note(reference="DocumentReference/1", text="a"), big], 2999)
    assert isinstance(caught.value, BadRequest)
    assert caught.value.status == 400
    issue = caught.value.outcome()["issue"][0]
    assert issue["code"] == "too-costly"
    assert "DocumentReference/9" in issue["diagnostics"]
    assert "3000 bytes" in issue["diagnostics"]


def test_guard_keeps_every_lexicon_match() -> None:
    """The first-character guard changes no match of any lexicon entry (terms and regexes)."""
    sample = "".join(CLAUSES) + "ＰＣＩ术后第2、4组淋巴结0/3，Ａ. 2R区(0/2)；TICI 3级血流，BP 120/80 mmHg。"
    checked = 0
    for path in sorted(LEXICON_DIR.glob("[!_]*.yaml")):
        for entry in load_lexicon_file(path.stem).entries.values():
            alts = [_term_pattern(t) for t in entry.terms] + [f"(?:{p})" for p in entry.regex]
            for terms in [*entry.values.values(), []]:
                alts.extend(_term_pattern(t) for t in terms)
            source = "|".join(alts)
            plain = re.compile(source, re.IGNORECASE)
            guard = re.compile(guarded(source, re.IGNORECASE), re.IGNORECASE)
            text = sample + "，".join(entry.terms)  # the entry's own terms, so it matches somewhere
            assert [m.span() for m in plain.finditer(text)] == [m.span() for m in guard.finditer(text)], (
                source
            )
            checked += 1
    assert checked > 300
