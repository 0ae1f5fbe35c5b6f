"""Opt-in lexicon options and cue-scope fixes of the lexical verifier (inline lexicon entries)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.lexical.cues import CueSet, enumeration_polarity, inner_polarity
from agents.lexical.lexicon import text_rules
from tests.agents.lexicon_probe import BOOL_FACT, NUMBER_FACT, polarities, verify

# --- number.select ------------------------------------------------------------------------------------

_LN_NUMBER: dict[str, Any] = {"unit": "枚", "max_gap": 12, "min": 0, "max": 100}
_LN: dict[str, Any] = {"kind": "number", "terms": ["淋巴结"], "number": _LN_NUMBER}
_GROUPS = "术后病理：肠旁淋巴结4枚、中间淋巴结3枚、中央淋巴结5枚，均未见转移。"
_ENUMERATED = "术后病理：检出淋巴结：肠旁4枚、中间3枚、中央5枚，均未见转移。"


@pytest.mark.parametrize(
    ("select", "text", "expected"),
    [
        ("first", _GROUPS, 4.0),
        ("max", _GROUPS, 5.0),
        ("min", _GROUPS, 3.0),
        ("sum", _GROUPS, 12.0),
        ("sum", _ENUMERATED, 12.0),
        ("first", _ENUMERATED, 4.0),
    ],
)
async def test_number_select(
    monkeypatch: pytest.MonkeyPatch, make_record: Any, select: str, text: str, expected: float
) -> None:
    entry = {**_LN, "number": {**_LN_NUMBER, "select": select}}
    verdict = await verify(monkeypatch, make_record, entry, text, NUMBER_FACT)
    assert verdict.value == expected


async def test_number_sum_quotes_every_addend(monkeypatch: pytest.MonkeyPatch, make_record: Any) -> None:
    entry = {**_LN, "number": {**_LN_NUMBER, "select": "sum"}}
    verdict = await verify(monkeypatch, make_record, entry, _ENUMERATED, NUMBER_FACT)
    quotes = [e.quote or "" for e in verdict.evidence]
    assert len(quotes) == 3
    assert "4" in quotes[0]
    assert quotes[1].startswith("中间3枚")
    assert quotes[2].startswith("中央5枚")
    note = make_record(_ENUMERATED).notes[0].text
    assert all(note[e.start : e.end] == e.quote for e in verdict.evidence)


async def test_number_sum_does_not_cross_clauses_or_sentences(
    monkeypatch: pytest.MonkeyPatch, make_record: Any
) -> None:
    entry = {**_LN, "number": {**_LN_NUMBER, "select": "sum"}}
    text = "检出淋巴结12枚，其中2枚转移。另见淋巴结3枚。"
    verdict = await verify(monkeypatch, make_record, entry, text, NUMBER_FACT)
    assert verdict.value == 12.0  # "其中2枚" is after ，; the next sentence is another scope


async def test_number_sum_section_scope(monkeypatch: pytest.MonkeyPatch, make_record: Any) -> None:
    entry = {**_LN, "number": {**_LN_NUMBER, "select": "sum", "sum_scope": "section"}}
    text = "辅助检查：肠旁淋巴结4枚。中央淋巴结5枚。诊疗经过：复查淋巴结2枚。"
    verdict = await verify(monkeypatch, make_record, entry, text, NUMBER_FACT)
    assert verdict.value == 9.0
    assert len(verdict.evidence) == 2


async def test_number_sum_total_above_max_is_dropped(
    monkeypatch: pytest.MonkeyPatch, make_record: Any
) -> None:
    entry = {**_LN, "number": {**_LN_NUMBER, "select": "sum", "max": 10}}
    verdict = await verify(monkeypatch, make_record, entry, _GROUPS, NUMBER_FACT)
    assert verdict.value is None


# --- number.same_clause -------------------------------------------------------------------------------

_SIZE_NUMBER: dict[str, Any] = {"unit": "cm", "max_gap": 12}
_SIZE: dict[str, Any] = {"kind": "number", "terms": ["肌瘤"], "number": _SIZE_NUMBER}


@pytest.mark.parametrize(
    ("same_clause", "text", "expected"),
    [
        (False, "子宫肌瘤，大小约3cm。", 3.0),
        (True, "子宫肌瘤，大小约3cm。", None),
        (True, "肌瘤：3cm。", 3.0),  # ： is not a clause break for numbers
        (True, "肌瘤大小约3cm，宫颈5cm。", 3.0),
    ],
)
async def test_number_same_clause(
    monkeypatch: pytest.MonkeyPatch, make_record: Any, same_clause: bool, text: str, expected: float | None
) -> None:
    entry = {**_SIZE, "number": {**_SIZE_NUMBER, "same_clause": same_clause}}
    verdict = await verify(monkeypatch, make_record, entry, text, NUMBER_FACT)
    assert verdict.value == expected


# --- cue scope across 、 (default fix) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("建议行ECT、腹部及盆腔CT检查。", "腹部及盆腔CT", "uncertain"),
        ("无恶心、呕吐，无发热。", "呕吐", "negated"),
        ("无尿痛、尿频、尿急。", "尿急", "negated"),
        ("后极部未见明显渗出、出血及水肿。", "水肿", "negated"),
        ("抗血小板聚集（替罗非班、阿司匹林、氯吡格雷）。", "氯吡格雷", "affirmed"),  # 非 of 替罗非班
        ("诊断：1、脑梗死 2、高血压。", "高血压", "affirmed"),
        ("否认高血压，有糖尿病、冠心病。", "冠心病", "affirmed"),  # ， ends the enumeration
        ("无发热，后给予阿司匹林、氯吡格雷。", "氯吡格雷", "affirmed"),
    ],
)
def test_cue_reaches_items_of_an_enumeration(text: str, term: str, expected: str) -> None:
    assert polarities({"terms": [term]}, text) == [(term, expected)]


def test_enumeration_polarity_stops_at_terminator_and_list_numbers() -> None:
    cs = CueSet.build(text_rules().cues)
    assert enumeration_polarity(["无发热、", "后予吸氧、"], cs) == "affirmed"
    assert enumeration_polarity(["未见2、"], cs) == "affirmed"


# --- negation/uncertainty off --------------------------------------------------------------------------


def test_negation_off_for_terms_carrying_their_polarity() -> None:
    text = "术后病理：淋巴结未见转移(0/12)。"
    assert polarities({"terms": ["未见转移"]}, text) == [("未见转移", "affirmed")]  # the cue is in the term
    assert polarities({"terms": ["转移"]}, text) == [("转移", "negated")]
    assert polarities({"terms": ["转移"], "negation": {"off": True}}, text) == [("转移", "affirmed")]
    text = "建议行颈部超声检查。"
    assert polarities({"terms": ["颈部超声"]}, text) == [("颈部超声", "uncertain")]
    assert polarities({"terms": ["颈部超声"], "uncertainty": {"off": True}}, text) == [
        ("颈部超声", "affirmed")
    ]


def test_negation_off_keeps_the_other_cue_kind() -> None:
    entry = {"terms": ["转移"], "negation": {"off": True}}
    assert polarities(entry, "考虑转移。") == [("转移", "uncertain")]


# --- cues inside a regex match (opt-in inner_cues) ---------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "text", "expected"),
    [
        (False, "复查头颅CT：脑室系统未见积血。", "affirmed"),
        (True, "复查头颅CT：脑室系统未见积血。", "negated"),
        (True, "复查头颅CT：脑室系统积血。", "affirmed"),
        (True, "复查头颅CT：脑室内可能积血。", "uncertain"),
    ],
)
def test_inner_cues(inner: bool, text: str, expected: str) -> None:
    entry = {"terms": ["re:脑室.{0,6}积血"], "inner_cues": inner}
    assert [p for _, p in polarities(entry, text)] == [expected]


def test_inner_cues_ignore_literal_terms_and_authored_cues() -> None:
    entry = {"terms": ["不稳定型心绞痛", "re:淋巴结.{0,4}未见转移"], "inner_cues": True}
    text = "诊断：不稳定型心绞痛。病理：区域淋巴结未见转移。"
    assert [p for _, p in polarities(entry, text)] == ["affirmed", "affirmed"]
    cs = CueSet.build(text_rules().cues)
    assert inner_polarity("脑室未见积血", cs, authored="脑室.{0,6}积血") == "negated"
    assert inner_polarity("未见积血", cs) == "affirmed"  # a cue on the first character is outside


# --- exclude_sentence ---------------------------------------------------------------------------------


def test_exclude_sentence() -> None:
    text = "既往高血压病史，口服氨氯地平。入院后予氨氯地平降压。"
    assert len(polarities({"terms": ["氨氯地平"]}, text)) == 2
    assert len(polarities({"terms": ["氨氯地平"], "exclude": ["既往"]}, text)) == 2  # clause only
    kept = polarities({"terms": ["氨氯地平"], "exclude_sentence": ["既往"]}, text)
    assert len(kept) == 1


async def test_exclude_sentence_verdict(monkeypatch: pytest.MonkeyPatch, make_record: Any) -> None:
    entry = {"terms": ["氨氯地平"], "exclude_sentence": ["既往", "病史"]}
    verdict = await verify(monkeypatch, make_record, entry, "既往高血压病史，口服氨氯地平。", BOOL_FACT)
    assert verdict.value is None
