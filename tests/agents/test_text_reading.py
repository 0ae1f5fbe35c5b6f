"""Engine-level reading of hospital records: segmentation, record-type titles, report conventions, time."""

from __future__ import annotations

import pytest

from agents.lexical.document import analyse
from agents.lexical.lexicon import LexiconEntry, resolve
from agents.lexical.mentions import find_mentions
from agents.lexical.normalize import fold_for_matching


def _mentions(ref: str, text: str) -> list[tuple[str, str, bool]]:
    doc = analyse(fold_for_matching(text))
    return [(text[m.start : m.end], m.polarity, m.in_context) for m in find_mentions(resolve(ref), doc)]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("术后恢复好.出院带药", ["术后恢复好.", "出院带药"]),
        ("术后恢复好．出院带药", ["术后恢复好．", "出院带药"]),
        ("肌酐3.5mg/dl，LVEF 0.55。", ["肌酐3.5mg/dl，LVEF 0.55。"]),
        ("2.主诉", ["2.主诉"]),
    ],
)
def test_full_stop_between_chinese_characters_ends_a_sentence(text: str, sentences: list[str]) -> None:
    assert [s.text for s in analyse(text).sentences] == sentences


@pytest.mark.parametrize(
    "text",
    [
        "诊疗经过：予PCI术。出院记录：神志清，一般情况可，继续口服阿托伐他汀20mg qn。",
        "诊疗经过：予PCI术。\n出院小结\n神志清，继续口服阿托伐他汀20mg qn。",
    ],
)
def test_a_record_title_opens_a_section_inline_or_on_its_own_line(text: str) -> None:
    """The discharge record is read at discharge wherever it sits: a statin there is a discharge drug."""
    assert _mentions("stemi#statin_discharge", text) == [("阿托伐他汀", "affirmed", True)]


def test_a_heading_inside_the_record_refines_it() -> None:
    text = "出院记录：入院情况：入院前口服阿托伐他汀。出院医嘱：阿司匹林100mg qd。"
    assert _mentions("stemi#statin_discharge", text) == [("阿托伐他汀", "affirmed", False)]


def test_history_title_text_is_not_the_discharge_record() -> None:
    text = "入院记录\n既往史：长期口服阿托伐他汀。"
    assert _mentions("stemi#statin_discharge", text) == []


@pytest.mark.parametrize(
    ("text", "polarity"),
    [
        ("胃镜活检病理示：考虑腺癌。", "affirmed"),
        ("术后病理：倾向腺癌。", "affirmed"),
        ("病理报告\n镜下：考虑腺癌。", "affirmed"),
        ("胸部CT提示：右肺占位，考虑腺癌。", "affirmed"),
        ("右肺占位，考虑腺癌，建议穿刺活检。", "uncertain"),
        ("倾向腺癌，待病理。", "uncertain"),
        ("病理示：腺癌可能。", "uncertain"),
        ("病理示：未见腺癌。", "negated"),
    ],
)
def test_report_conventions(text: str, polarity: str) -> None:
    """In a pathology or imaging report 考虑/倾向 state the finding; elsewhere they hedge; 可能 always hedges."""
    entry = LexiconEntry(terms=["腺癌"])
    doc = analyse(text)
    assert [m.polarity for m in find_mentions(entry, doc)] == [polarity]


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("现病史：3年前于外院行PCI术，术后规律服药。1天前再发胸痛入院。", False),
        ("现病史：患者2小时前外院行PCI术后转入我院。", True),
        ("现病史：1周前胸痛，当地医院予溶栓，今为进一步诊治收入院。", True),
        ("诊疗经过：入院后急诊行PCI术。", True),
    ],
)
def test_an_earlier_stay_in_the_present_illness_is_history_for_treatments(text: str, counted: bool) -> None:
    """N 天/周/月/年前 care elsewhere is an earlier stay; hours, this admission or its work-up are not."""
    entry = LexiconEntry(terms=["PCI", "溶栓"], exclude_sections=["既往史"])
    found = find_mentions(entry, analyse(text))
    assert bool(found) == counted, found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("予氯毗格雷75mg qd。", ["氯毗格雷"]),  # one OCR substitution of a dictionary name
        ("予氯吡格雷75mg qd。", ["氯吡格雷"]),
        ("予氯毗格蕾75mg qd。", []),  # two substitutions
        ("予吲哚布芬100mg bid。", []),
    ],
)
def test_drug_names_match_with_one_ocr_substitution(text: str, found: list[str]) -> None:
    assert [t for t, _, _ in _mentions("tia#clopidogrel", text)] == found


def test_a_substituted_reading_that_is_another_name_is_not_a_misreading() -> None:
    entry = LexiconEntry(terms=["普伐他汀"])
    doc = analyse("出院带药：氟伐他汀40mg qn，阿托伐他汀20mg qn。")
    assert find_mentions(entry, doc) == []
    misread = analyse("普代他汀40mg qn")
    assert [misread.text[m.start : m.end] for m in find_mentions(entry, misread)] == ["普代他汀"]


def test_short_names_match_exactly() -> None:
    entry = LexiconEntry(terms=["肝素"])
    assert find_mentions(entry, analyse("予肝索抗凝")) == []


@pytest.mark.parametrize("text", ["上切缘阳性", "上断端阳性", "近端残端阳性", "切端阳性"])
def test_report_variants_of_the_margin_match_one_term(text: str) -> None:
    entry = LexiconEntry(terms=["切缘阳性"], regex=["(?:上|近端)切缘(?:阳性|见癌)"])
    assert [m.polarity for m in find_mentions(entry, analyse(text))] == ["affirmed"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("出院医嘱：建议继续口服阿托伐他汀20mg qn。", [("阿托伐他汀", "affirmed", True)]),
        ("诊疗经过：病情稳定，建议出院后长期口服阿托伐他汀。", [("阿托伐他汀", "affirmed", True)]),
        ("诊疗经过：血脂偏高，建议口服阿托伐他汀。", [("阿托伐他汀", "uncertain", False)]),
    ],
)
def test_a_plan_for_after_discharge_is_the_discharge_prescription(
    text: str, expected: list[tuple[str, str, bool]]
) -> None:
    assert _mentions("stemi#statin_discharge", text) == expected


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("胃镜下见胃窦溃疡活动性出血，予钛夹夹闭止血，术后再次出现黑便。", True),
        ("入院前再次出现黑便3次。入院后胃镜下钛夹夹闭止血，术后未再出血。", False),
        ("予药物止血治疗后再次出现黑便。", True),  # no endoscopic procedure: the order cannot be told
    ],
)
def test_an_outcome_counts_only_after_the_procedure_it_judges(text: str, counted: bool) -> None:
    found = [m for m in find_mentions(resolve("gib2#rebleeding"), analyse(text)) if m.polarity == "affirmed"]
    assert bool(found) == counted, found
