"""Split a note into sections, sentences and clauses, keeping character offsets into the note."""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from agents.lexical.lexicon import TextRules, text_rules
from agents.lexical.prefilter import guarded

#: Sentence ends: 。！？ and line breaks, "；" before a list number, and a full stop written "." or "．"
#: between Chinese characters (OCR and half-width input: 术后恢复好.出院), never inside a number (3.5).
_SENTENCE_END = re.compile(
    r"[。！？!?\n]+|；(?=\s*\d+[.、．])|(?<=[\u4e00-\u9fff）)])[.．]+(?=\s*[\u4e00-\u9fff])"
)
_CLAUSE_END = re.compile(r"[，,；;、]|(?<!\d)[:：]")


#: Longest sentence and clause kept whole: a longer run without punctuation is cut (at a clause end, else
#: anywhere), so the work per mention stays bounded and analysing a note is linear in its length. Real
#: sentences are far shorter (the longest of the dev split and the goldens has 836 characters).
MAX_SENTENCE = 1200
MAX_CLAUSE = 300


@dataclass(frozen=True, slots=True)
class Clause:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str
    section: str | None
    index: int = 0  # position in Document.sentences
    aliases: frozenset[str] = frozenset()  # the section and what it counts as (出院记录 → 出院医嘱 …)
    report: bool = False  # in a pathology or imaging report
    earlier: bool = False  # a present-illness sentence about an earlier stay (3年前行PCI术)
    _split: list[tuple[Clause, ...]] = field(default_factory=list, compare=False, repr=False)
    #: computed on first use by agents.lexical.mentions.report_start (same for every entry)
    report_from: list[int | None] = field(default_factory=list, compare=False, repr=False)

    @property
    def clauses(self) -> tuple[Clause, ...]:
        """The clauses (split at ，；、: and bounded), computed on first use: most sentences of a long note
        hold no mention and are never split."""
        if not self._split:
            spans = _bounded(self.text, _spans(self.text, 0, len(self.text), _CLAUSE_END), MAX_CLAUSE, None)
            self._split.append(
                tuple(Clause(self.start + a, self.start + b, self.text[a:b]) for a, b in spans)
                or (Clause(self.start, self.end, self.text),)
            )
        return self._split[0]

    def clause_at(self, offset: int) -> Clause:
        clauses = self.clauses
        if len(clauses) == 1:
            return clauses[0]
        i = bisect_right(clauses, offset, key=_start) - 1
        if 0 <= i and offset < clauses[i].end:
            return clauses[i]
        return clauses[-1]


def _start(item: Clause | Sentence | tuple[int, str]) -> int:
    return item[0] if isinstance(item, tuple) else item.start


@dataclass(slots=True)
class Document:
    text: str
    sentences: list[Sentence]
    sections: list[tuple[int, str]] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list, repr=False)
    _section_starts: list[int] = field(default_factory=list, repr=False)

    def sentence_at(self, offset: int) -> Sentence:
        if len(self._starts) != len(self.sentences):
            self._starts = [s.start for s in self.sentences]
        i = bisect_right(self._starts, offset) - 1
        if 0 <= i and offset < self.sentences[i].end:
            return self.sentences[i]
        return self.sentences[-1]

    def section_at(self, offset: int) -> str | None:
        i = self._section_index(offset)
        return self.sections[i][1] if i >= 0 else None

    def section_start(self, offset: int) -> int:
        """Start offset of the section holding ``offset`` (-1 before the first heading)."""
        i = self._section_index(offset)
        return self.sections[i][0] if i >= 0 else -1

    def _section_index(self, offset: int) -> int:
        if len(self._section_starts) != len(self.sections):
            self._section_starts = [start for start, _ in self.sections]
        return bisect_right(self._section_starts, offset) - 1


_HEADINGS: dict[int, tuple[TextRules, re.Pattern[str]]] = {}


def _heading_pattern(rules: TextRules) -> re.Pattern[str]:
    cached = _HEADINGS.get(id(rules))
    if cached is None or cached[0] is not rules:
        cached = _HEADINGS[id(rules)] = (rules, _compile_headings(rules))
    return cached[1]


def _alternation(variants: set[str]) -> str:
    return "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))


def _compile_headings(rules: TextRules) -> re.Pattern[str]:
    """A heading (主诉：) followed by ：, or a record title (出院记录) followed by ： or ending its line."""
    headings = _alternation({v for vs in rules.sections.values() for v in vs})
    titles = _alternation({t for r in rules.records.values() for t in r.titles})
    title = rf"|(?P<title>{titles})(?:\s*[:：]|[ \t　]*(?=\n|$))" if titles else ""
    source = rf"(?:^|(?<=[\s。；;，,：:）)\]]))(?:\d+[.、．]\s*)?(?:(?P<heading>{headings})\s*[:：]{title})"
    return re.compile(guarded(source, re.MULTILINE), re.MULTILINE)


def find_sections(text: str, rules: TextRules | None = None) -> list[tuple[int, str]]:
    """Offsets where a section heading or a record title starts, with the canonical section name (a
    title's record type, e.g. 出院记录 for 出院小结).

    >>> find_sections("入院记录\\n主诉：胸痛。出院小结：神志清，出院带药：阿司匹林")
    [(0, '入院记录'), (5, '主诉'), (11, '出院记录'), (20, '出院医嘱')]
    """
    rules = rules or text_rules()
    canonical = {v: name for name, vs in rules.sections.items() for v in vs}
    canonical.update({t: name for name, r in rules.records.items() for t in r.titles})
    out: list[tuple[int, str]] = []
    for m in _heading_pattern(rules).finditer(text):
        group = "heading" if m.group("heading") is not None else "title"
        out.append((m.start(group), canonical[m.group(group)]))
    return out


def _spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for m in pattern.finditer(text, start, end):
        if m.end() > pos:
            if text[pos : m.end()].strip():
                spans.append((pos, m.end()))
            pos = m.end()
    if text[pos:end].strip():
        spans.append((pos, end))
    return spans


def _bounded(
    text: str, spans: list[tuple[int, int]], limit: int, cuts: re.Pattern[str] | None
) -> list[tuple[int, int]]:
    """``spans`` with each one longer than ``limit`` cut into pieces of at most ``limit`` characters, at
    the last match of ``cuts`` in the piece when there is one."""
    out: list[tuple[int, int]] = []
    for first, end in spans:
        start = first
        while end - start > limit:
            cut = start + limit
            if cuts is not None:
                last = None
                for m in cuts.finditer(text, start + limit // 2, start + limit):
                    last = m
                cut = last.end() if last is not None else cut
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


@lru_cache(maxsize=16)
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source)


#: Sections whose sentences may tell of an earlier stay (the history itself is 既往史).
_EPISODE_SECTIONS = frozenset({"现病史", "主诉", None})


def _earlier_episode(sentence: str, rules: TextRules) -> bool:
    """Whether ``sentence`` opens with an earlier episode of care elsewhere (3年前于外院行PCI术) and does
    not tell of this stay.

    >>> rules = text_rules()
    >>> _earlier_episode("3年前于外院行PCI术。", rules), _earlier_episode("3天前外院治疗后入院。", rules)
    (True, False)
    >>> _earlier_episode("2小时前外院予阿司匹林。", rules)
    False
    >>> _earlier_episode("现病史：半年前当地行ERCP", rules)
    True
    >>> _earlier_episode("3月前外院穿刺病理示腺癌。", rules)
    False
    """
    if rules.earlier_episode is None or _compiled(rules.earlier_episode).match(sentence) is None:
        return False
    if not any(p in sentence for p in rules.elsewhere):
        return False
    return not any(p in sentence for p in (*rules.this_stay, *rules.findings))


def analyse(text: str, rules: TextRules | None = None) -> Document:
    """Sentences (split at 。！？ and line breaks) with their clauses (split at ，；、:) and sections.

    >>> doc = analyse("主诉：胸痛3小时。诊疗经过：行PCI术，术后好转。")
    >>> [(s.section, s.text) for s in doc.sentences]
    [('主诉', '主诉：胸痛3小时。'), ('诊疗经过', '诊疗经过：行PCI术，术后好转。')]
    """
    rules = rules or text_rules()
    sections = find_sections(text, rules)
    doc = Document(text=text, sentences=[], sections=sections)
    boundaries = sorted({0, *(s for s, _ in sections), len(text)})
    for lo, hi in itertools.pairwise(boundaries):
        section = doc.section_at(lo)
        aliases, report = rules.aliases(section), rules.is_report(section)
        for s_start, s_end in _bounded(text, _spans(text, lo, hi, _SENTENCE_END), MAX_SENTENCE, _CLAUSE_END):
            body = text[s_start:s_end]
            earlier = section in _EPISODE_SECTIONS and _earlier_episode(body, rules)
            doc.sentences.append(
                Sentence(s_start, s_end, body, section, len(doc.sentences), aliases, report, earlier)
            )
    return doc
