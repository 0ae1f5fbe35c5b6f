"""Cue scope across "field：value", "full name（abbreviation）", results-pending clauses and the entry's own
matches; select: sum over a "；N." numbered list (inline lexicon entries and the shared text rules)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.lexical.cues import CueSet, final_post_cue, pending_cue, value_cue
from agents.lexical.lexicon import CueOverrides, text_rules
from agents.lexical.mentions import bracket_group
from tests.agents.lexicon_probe import NUMBER_FACT, polarities, verify

CUES = CueSet.build(text_rules().cues)


# --- 1. a post cue opening the value of "field：value" ---------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "text", "expected"),
    [
        (["ABCD2"], "ABCD2评分：未评。", "negated"),
        (["胸部CT"], "胸部CT：拟明日检查。", "uncertain"),
        (["Hoehn-Yahr"], "Hoehn-Yahr分期：未评估。", "negated"),
        (["Hoehn-Yahr"], "Hoehn-Yahr分期： 未评估", "negated"),  # whitespace before the value
        (["Hoehn-Yahr"], "Hoehn-Yahr分期：2期，未评估步态。", "affirmed"),  # the value does not open with it
        (["头颅CT"], "头颅CT：未见出血。", "affirmed"),  # a finding cue, not one about the act
        (["头颅CT"], "头颅CT、MRI：未做。", "negated"),  # the value of an enumeration
        (["ABCD2"], "ABCD2评分结果见病程记录附表：未评", "affirmed"),  # the mention is not the field
    ],
)
def test_post_cue_reaches_across_a_colon(terms: list[str], text: str, expected: str) -> None:
    assert polarities({"terms": terms}, text)[0][1] == expected


def test_value_cue() -> None:
    assert value_cue("未评", CUES) == "negated"
    assert value_cue("  拟明日复查", CUES) == "uncertain"
    assert value_cue("正常，未评", CUES) == "affirmed"


# --- 2. full name（abbreviation） ---------------------------------------------------------------------

_UPDRS = {"terms": ["UPDRS", "统一帕金森病评定量表"]}
_PCI = {"terms": ["PCI", "经皮冠状动脉介入治疗"]}


@pytest.mark.parametrize(
    ("entry", "text", "expected"),
    [
        (_UPDRS, "未行统一帕金森病评定量表（UPDRS）评估。", "negated"),
        (_UPDRS, "统一帕金森病评定量表（UPDRS）未评估。", "negated"),
        (_UPDRS, "统一帕金森病评定量表 (UPDRS) 评分32分。", "affirmed"),
        (_PCI, "建议急诊经皮冠状动脉介入治疗(PCI)，家属拒绝。", "uncertain"),
        (_PCI, "急诊行经皮冠状动脉介入治疗(PCI)。", "affirmed"),
    ],
)
def test_cue_applies_to_the_bracketed_abbreviation(entry: dict[str, Any], text: str, expected: str) -> None:
    assert {pol for _, pol in polarities(entry, text)} == {expected}


def test_bracketed_term_without_a_matched_head_keeps_its_own_window() -> None:
    # the head is not a term of the entry: the abbreviation's own 12-character window applies
    assert polarities({"terms": ["UPDRS"]}, "未行统一帕金森病评定量表（UPDRS）评估。") == [
        ("UPDRS", "affirmed")
    ]


def test_bracket_group() -> None:
    text = "建议急诊经皮冠状动脉介入治疗(PCI)，家属拒绝"
    spans = ((4, 14), (15, 18))
    assert bracket_group(text, 4, 14, spans) == (4, 19)
    assert bracket_group(text, 15, 18, spans) == (4, 19)
    assert bracket_group("阿司匹林（拜阿司匹灵，100mg）", 0, 4, ((0, 4),)) is None  # not a bracket group


# --- 3. select: sum over a "；N." numbered list --------------------------------------------------------

_LN = {
    "kind": "number",
    "terms": ["淋巴结"],
    "number": {
        "unit": "",
        "value_pattern": r"[（(]\s*\d+\s*[/／]\s*(\d+)\s*[)）]",
        "min": 0,
        "max": 100,
        "select": "sum",
    },
}


async def test_sum_continues_over_a_numbered_list(monkeypatch: pytest.MonkeyPatch, make_record: Any) -> None:
    text = "术后病理：1.肠周淋巴结(0/5)；2.中间组淋巴结(0/4)；3.中央组淋巴结(0/4)。"
    verdict = await verify(monkeypatch, make_record, _LN, text, NUMBER_FACT)
    assert verdict.value == 13.0
    assert len(verdict.evidence) == 3


async def test_sum_enumeration_goes_on_after_a_list_number(
    monkeypatch: pytest.MonkeyPatch, make_record: Any
) -> None:
    entry = {"kind": "number", "terms": ["淋巴结"], "number": {"unit": "枚", "max": 100, "select": "sum"}}
    text = "淋巴结：1.肠旁4枚；2.中间3枚；3.中央2枚。"
    assert (await verify(monkeypatch, make_record, entry, text, NUMBER_FACT)).value == 9.0


async def test_sum_does_not_join_sentences_without_a_list_number(
    monkeypatch: pytest.MonkeyPatch, make_record: Any
) -> None:
    text = "肠周淋巴结(0/5)。另送中央组淋巴结(0/4)。"
    assert (await verify(monkeypatch, make_record, _LN, text, NUMBER_FACT)).value == 5.0


# --- 4. post cues inside the entry's matched spans -----------------------------------------------------


def test_post_cue_inside_a_matched_span_does_not_count() -> None:
    entry = {"terms": ["re:阴道断端(?:[^。；]){0,30}?未查见癌"]}
    assert polarities(entry, "阴道断端、双侧宫旁组织均未查见癌。") == [
        ("阴道断端、双侧宫旁组织均未查见癌", "affirmed")
    ]
    # another match of the entry later in the enumeration: its 未查 is part of that term too
    two = {"terms": ["胸片", "re:肺功能未查见异常"]}
    assert polarities(two, "胸片、肺功能未查见异常。")[0] == ("胸片", "affirmed")
    # outside the matches the cue still counts
    assert polarities({"terms": ["胸片"]}, "胸片、肺功能未查。") == [("胸片", "negated")]


def test_final_post_cue_skip() -> None:
    assert final_post_cue("肺功能未查", CUES, item=True) == "negated"
    assert final_post_cue("肺功能未查", CUES, item=True, skip=((0, 5),)) == "affirmed"


# --- 5. a results-pending clause after an enumeration of sent-off tests --------------------------------

_LABS = {"terms": ["血常规", "肝肾功能", "尿常规"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("送检血常规、肝肾功能、尿常规，结果待回报。", {"uncertain"}),
        ("送检血常规，结果未回。", {"uncertain"}),
        ("送检血常规、肝肾功能、尿常规，结果正常。", {"affirmed"}),
        ("送检血常规、肝肾功能、尿常规。结果待回报。", {"affirmed"}),  # another sentence
        ("送检血常规、肝肾功能后复查尿常规，结果待回报。", {"affirmed", "uncertain"}),  # 后 ends the scope
    ],
)
def test_results_pending_clause(text: str, expected: set[str]) -> None:
    assert {pol for _, pol in polarities(_LABS, text)} == expected


def test_results_pending_clause_can_be_removed_per_entry() -> None:
    entry = {**_LABS, "uncertainty": {"remove": ["结果待回报", "结果待回"]}}
    assert {pol for _, pol in polarities(entry, "送检血常规、尿常规，结果待回报。")} == {"affirmed"}
    off = CueSet.build(text_rules().cues, uncertainty=CueOverrides(off=True))
    assert pending_cue("结果待回报", off) == "affirmed"
    assert pending_cue("结果待回报", CUES) == "uncertain"
