"""Chinese counts in numbers, require_affirmed, post-only cues (drug allergy), post-cue reach and
on_conflict: last (inline lexicon entries, the shared text rules and common.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.lexical.cues import CueSet, final_post_cue, polarity
from agents.lexical.document import analyse
from agents.lexical.lexicon import LexiconEntry, resolve, text_rules
from agents.lexical.mentions import mention_polarity
from agents.lexical.quantities import number_after
from tests.agents.lexicon_probe import BOOL_FACT, NUMBER_FACT, polarities, verify

CUES = CueSet.build(text_rules().cues)


def _sentence_polarity(text: str, term: str, cues: CueSet = CUES) -> str:
    sentence = analyse(text).sentences[0]
    start = text.index(term)
    return mention_polarity(sentence, start, start + len(term), cues)


# --- 1. Chinese counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "value", "digits"),
    [
        ("肠周淋巴结十五枚", "枚", 15.0, "十五"),
        ("肠周淋巴结二十三枚", "枚", 23.0, "二十三"),
        ("肠周淋巴结两枚", "枚", 2.0, "两"),
        ("肠周淋巴结十二个", "枚|个", 12.0, "十二"),
        ("肠周淋巴结共 十 枚", "枚", 10.0, "十"),
        ("肠周淋巴结12枚", "枚", 12.0, "12"),
    ],
)
def test_chinese_counts_keep_exact_offsets(text: str, unit: str, value: float, digits: str) -> None:
    pos = text.index("淋巴结") + 3
    q = number_after(text, pos, unit=unit, max_gap=12)
    assert q is not None
    assert q.value == value
    assert text[q.start : q.end] == digits


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("淋巴结第二枚见转移", "枚"),  # an ordinal
        ("淋巴结一百二十枚", "枚"),  # beyond the small numerals: not misread as 20
        ("NIHSS评分十分", "分"),  # the adverb 十分
        ("淋巴结一般", ""),  # no unit: no Chinese numerals
        ("淋巴结两", "枚?"),  # a unit that may be empty: no Chinese numerals
    ],
)
def test_chinese_counts_not_read(text: str, unit: str) -> None:
    assert number_after(text, text.index("结") + 1 if "结" in text else 5, unit=unit, max_gap=12) is None


def test_chinese_count_in_a_value_pattern_group() -> None:
    text = "淋巴结十五枚"
    q = number_after(text, 3, unit="", max_gap=12, value_pattern=r"([一二两三四五六七八九十]+|\d+)\s*枚")
    assert q is not None
    assert q.value == 15.0
    assert text[q.start : q.end] == "十五"


_LN = {"kind": "number", "terms": ["淋巴结"], "number": {"unit": "枚", "min": 0, "max": 100, "select": "sum"}}


@pytest.mark.parametrize(
    ("text", "expected", "quoted"),
    [
        ("术后病理：肠周淋巴结十五枚、中央组二十三枚，均未见转移。", 38.0, ["十五", "二十三"]),
        ("术后病理：淋巴结：肠旁两枚、中间4枚、中央十二枚。", 18.0, ["两", "4", "十二"]),
    ],
)
async def test_chinese_counts_in_a_sum(
    monkeypatch: pytest.MonkeyPatch, make_record: Any, text: str, expected: float, quoted: list[str]
) -> None:
    verdict = await verify(monkeypatch, make_record, _LN, text, NUMBER_FACT)
    assert verdict.value == expected
    assert len(verdict.evidence) == len(quoted)
    note = make_record(text).notes[0].text
    for evidence, digits in zip(verdict.evidence, quoted, strict=True):
        assert note[evidence.start : evidence.end] == evidence.quote
        assert digits in (evidence.quote or "")


# --- 2. require_affirmed --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "default", "affirmed_only"),
    [
        ("未行活检，病理待定。", 1, 0),
        ("行穿刺活检，病理示腺癌。", 1, 1),
        ("拒绝活检，病理无。", 1, 0),
        ("未行胃镜，行活检，病理示腺癌。", 1, 1),  # one affirmed occurrence is enough
        ("病理示腺癌。", 0, 0),
    ],
)
def test_require_affirmed(text: str, default: int, affirmed_only: int) -> None:
    entry: dict[str, Any] = {"terms": ["病理"], "require": ["活检"]}
    assert len(polarities(entry, text)) == default
    assert len(polarities({**entry, "require_affirmed": True}, text)) == affirmed_only


# --- 3. post-only cues (drug allergy / intolerance) -----------------------------------------------------

_DRUG: dict[str, Any] = {
    "terms": ["阿司匹林", "氯吡格雷", "他汀类"],
    "negation": {"add_post": ["过敏", "不耐受"]},
}


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("既往阿司匹林过敏。", "阿司匹林", "negated"),
        ("对氯吡格雷不耐受。", "氯吡格雷", "negated"),
        ("他汀类药物过敏史。", "他汀类", "negated"),
        ("予阿司匹林100mg qd。", "阿司匹林", "affirmed"),
        ("青霉素过敏，予阿司匹林100mg qd。", "阿司匹林", "affirmed"),  # a post cue never reaches back
    ],
)
def test_add_post_negates_after_the_mention_only(text: str, term: str, expected: str) -> None:
    assert dict(polarities(_DRUG, text))[term] == expected


def test_add_post_is_not_a_pre_cue_and_respects_off_and_remove() -> None:
    cues = CueSet.build(text_rules().cues, LexiconEntry.model_validate(_DRUG).negation)
    assert "过敏" in cues.negation_post
    assert "过敏" not in cues.negation_pre
    off = CueSet.build(
        text_rules().cues,
        LexiconEntry.model_validate({**_DRUG, "negation": {"off": True, "add_post": ["过敏"]}}).negation,
    )
    assert off.negation_post == ()
    removed = {"add_post": ["过敏", "不耐受"], "remove": ["过敏"]}
    cues = CueSet.build(
        text_rules().cues, LexiconEntry.model_validate({**_DRUG, "negation": removed}).negation
    )
    assert "过敏" not in cues.negation_post
    assert "不耐受" in cues.negation_post


@pytest.mark.parametrize(
    "ref",
    [
        "common#aspirin",
        "common#clopidogrel",
        "common#p2y12_inhibitor",
        "common#aspirin_discharge",
        "common#p2y12_discharge",
        "common#beta_blocker_discharge",
        "common#acei_arb_discharge",
        "common#statin_discharge",
    ],
)
def test_common_drug_entries_read_allergy_as_not_given(ref: str) -> None:
    entry = resolve(ref)
    drug = {
        "common#aspirin": "阿司匹林",
        "common#aspirin_discharge": "阿司匹林",
        "common#beta_blocker_discharge": "美托洛尔",
        "common#acei_arb_discharge": "缬沙坦",
        "common#statin_discharge": "他汀类",
    }.get(ref, "氯吡格雷")
    for text in (f"出院医嘱：{drug}过敏。", f"出院医嘱：对{drug}不耐受。"):
        assert [p for _, p in polarities(entry, text)] == ["negated"], text
    assert [p for _, p in polarities(entry, f"出院医嘱：{drug} 1片 qd。")] == ["affirmed"]


def test_indobufen_is_not_a_p2y12_inhibitor() -> None:
    for ref in ("common#p2y12_inhibitor", "common#p2y12_discharge"):
        assert polarities(resolve(ref), "出院医嘱：吲哚布芬 0.1g bid。") == []


async def test_allergy_gives_false(monkeypatch: pytest.MonkeyPatch, make_record: Any) -> None:
    verdict = await verify(monkeypatch, make_record, _DRUG, "既往史：阿司匹林过敏。", BOOL_FACT)
    assert verdict.value is False


# --- 4. post-cue reach ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("胸片、凝血功能待回报。", "胸片", "uncertain"),  # across the 、-list to the cue at its end
        ("胸片、凝血功能待回报。", "凝血功能", "uncertain"),
        ("视野检查因视力差未能完成。", "视野检查", "negated"),  # to the end of the clause
        ("胸片、心电图未做、凝血功能正常。", "胸片", "negated"),
        ("彩超提示左锁骨上淋巴结转移可能。", "彩超", "affirmed"),  # 可能 is about the finding
        ("阿司匹林、停用氯吡格雷。", "阿司匹林", "affirmed"),  # 停用 opens its item: a pre cue
        ("CT检查结束后患者拒绝。", "CT", "affirmed"),  # a terminator in between
        ("胸片、心电图，凝血功能待回报。", "胸片", "affirmed"),  # the list ends at ，
        ("1、胸片、2、凝血功能待回报。", "胸片", "affirmed"),  # a list number ends the walk
        ("视野检查因视力差未能完成眼底照相。", "视野检查", "affirmed"),  # the cue takes an object of its own
        ("CT未做。", "CT", "negated"),  # right after the mention, as before
    ],
)
def test_post_cue_reach(text: str, term: str, expected: str) -> None:
    assert _sentence_polarity(text, term) == expected


def test_post_reach_only_for_listed_cues() -> None:
    assert final_post_cue("凝血功能待查。", CUES, item=True) == "affirmed"  # 待查: not in post_reach
    assert polarity("胸部CT示右肺结节待查", 0, 4, CUES) == "affirmed"
    no_reach = CueSet.build(text_rules().cues.model_copy(update={"post_reach": []}))
    assert _sentence_polarity("视野检查因视力差未能完成。", "视野检查", no_reach) == "affirmed"


# --- 5. on_conflict: last -------------------------------------------------------------------------------

_BB: dict[str, Any] = {"terms": ["美托洛尔", "阿司匹林"]}


@pytest.mark.parametrize(
    ("text", "default", "last"),
    [
        ("诊疗经过：予美托洛尔12.5mg bid控制心室率，后因低血压停用。", True, False),
        ("诊疗经过：予美托洛尔，后因低血压停用。出院医嘱：美托洛尔12.5mg bid。", True, True),
        ("诊疗经过：因低血压停用美托洛尔，血压稳定后予美托洛尔6.25mg bid。", True, True),
        ("诊疗经过：予美托洛尔6.25mg bid，血压稳定后停用美托洛尔。", True, False),
        ("诊疗经过：予美托洛尔，后停用氯吡格雷。", True, True),  # the stop has an object of its own
        ("诊疗经过：予美托洛尔12.5mg bid，心率控制可。", True, True),
        ("诊疗经过：未用美托洛尔。", False, False),
    ],
)
async def test_on_conflict_last(
    monkeypatch: pytest.MonkeyPatch, make_record: Any, text: str, default: bool, last: bool
) -> None:
    assert (await verify(monkeypatch, make_record, _BB, text, BOOL_FACT)).value is default
    verdict = await verify(monkeypatch, make_record, {**_BB, "on_conflict": "last"}, text, BOOL_FACT)
    assert verdict.value is last
    note = make_record(text).notes[0].text
    assert all(note[e.start : e.end] == e.quote for e in verdict.evidence)


async def test_on_conflict_last_quotes_the_stop(monkeypatch: pytest.MonkeyPatch, make_record: Any) -> None:
    text = "诊疗经过：予美托洛尔12.5mg bid，后因低血压停用。"
    verdict = await verify(monkeypatch, make_record, {**_BB, "on_conflict": "last"}, text, BOOL_FACT)
    assert [e.quote for e in verdict.evidence] == ["后因低血压停用。"]
    unknown = {**_BB, "on_conflict": "last", "on_negated": None}
    assert not (await verify(monkeypatch, make_record, unknown, text, BOOL_FACT)).known
