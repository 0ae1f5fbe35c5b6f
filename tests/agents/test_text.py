from __future__ import annotations

import pytest

from agents.lexical.cues import CueSet, polarity
from agents.lexical.document import analyse
from agents.lexical.lexicon import text_rules
from agents.lexical.normalize import find_verbatim
from agents.lexical.quantities import durations, number_after

CUES = CueSet.build(text_rules().cues)


@pytest.mark.parametrize(
    ("clause", "term", "expected"),
    [
        ("故未行静脉溶栓治疗", "静脉溶栓", "negated"),
        ("患者否认高血压病史", "高血压", "negated"),
        ("未见新发脑出血", "脑出血", "negated"),
        ("家属拒绝行PCI术", "PCI", "negated"),
        ("无静脉溶栓适应症", "静脉溶栓", "negated"),
        ("遵医嘱停用氯吡格雷", "氯吡格雷", "negated"),
        ("脑梗塞可能大", "脑梗塞", "uncertain"),
        ("肺结核待排", "肺结核", "uncertain"),
        ("不除外肺栓塞", "肺栓塞", "uncertain"),
        ("建议行冠脉造影", "冠脉造影", "uncertain"),
        ("患者无明显诱因出现胸痛", "胸痛", "affirmed"),
        ("予阿司匹林100mg qd", "阿司匹林", "affirmed"),
        ("无禁忌症后给予阿替普酶静脉溶栓", "静脉溶栓", "affirmed"),
    ],
)
def test_polarity(clause: str, term: str, expected: str) -> None:
    start = clause.index(term)
    assert polarity(clause, start, start + len(term), CUES) == expected


def test_sentences_sections_and_offsets() -> None:
    text = "主诉：胸痛3小时。既往史：高血压10年。出院医嘱：阿司匹林100mg qd，阿托伐他汀20mg qn。"
    doc = analyse(text)
    assert [s.section for s in doc.sentences] == ["主诉", "既往史", "出院医嘱"]
    for s in doc.sentences:
        assert text[s.start : s.end] == s.text
        for c in s.clauses:
            assert text[c.start : c.end] == c.text
    assert doc.section_at(text.index("阿托伐他汀")) == "出院医嘱"


@pytest.mark.parametrize(
    ("text", "anchor", "unit", "value", "cmp"),
    [
        ("NIHSS评分：3分", "NIHSS", "分", 3.0, None),
        ("美国卒中量表（NIHSS）评分13分", "NIHSS", "分", 13.0, None),
        ("残余狭窄10%", "残余狭窄", "%", 10.0, None),
        ("左室射血分数 43 %", "射血分数", "%", 43.0, None),
        ("NIHSS评分＜4分", "NIHSS", "分", 4.0, "＜"),
    ],
)
def test_number_after(text: str, anchor: str, unit: str, value: float, cmp: str | None) -> None:
    q = number_after(text, text.index(anchor) + len(anchor), unit=unit, max_gap=12)
    assert q is not None
    assert q.value == value
    assert q.comparator == cmp
    assert text[q.start : q.end] == str(value).removesuffix(".0") or text[q.start : q.end] == str(value)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("发病2小时", [2.0]),
        ("胸痛3天，加重半天", [72.0, 12.0]),
        ("乏力90分钟", [1.5]),
        ("乏力4.5h于1月2日入院", [4.5]),
        ("入院后48小时内", [48.0]),
        ("术后24-72小时", [72.0]),
        ("头晕1天余", [36.0]),  # more than a day
        ("心悸一个半小时", [1.5]),
        ("症状两周", [336.0]),
    ],
)
def test_durations(text: str, hours: list[float]) -> None:
    assert [d.hours for d in durations(text)] == hours


def test_find_verbatim_after_whitespace_normalisation() -> None:
    text = "诊疗经过：予阿司匹林\n  100mg 口服。"
    span = find_verbatim(text, "予阿司匹林 100mg 口服")
    assert span is not None
    assert text[span[0] : span[1]] == "予阿司匹林\n  100mg 口服"
    assert find_verbatim(text, "予氯吡格雷") is None
