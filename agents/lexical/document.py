"""Split a note into sections, sentences and clauses, keeping character offsets into the note."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from agents.lexical.lexicon import TextRules, text_rules

_SENTENCE_END = re.compile(r"[。！？!?\n]+|；(?=\s*\d+[.、．])")
_CLAUSE_END = re.compile(r"[，,；;、]|(?<!\d)[:：]")


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
    clauses: tuple[Clause, ...]

    def clause_at(self, offset: int) -> Clause:
        for clause in self.clauses:
            if clause.start <= offset < clause.end:
                return clause
        return self.clauses[-1]


@dataclass(slots=True)
class Document:
    text: str
    sentences: list[Sentence]
    sections: list[tuple[int, str]] = field(default_factory=list)

    def sentence_at(self, offset: int) -> Sentence:
        for sentence in self.sentences:
            if sentence.start <= offset < sentence.end:
                return sentence
        return self.sentences[-1]

    def section_at(self, offset: int) -> str | None:
        current: str | None = None
        for start, name in self.sections:
            if start > offset:
                break
            current = name
        return current


def _heading_pattern(rules: TextRules) -> re.Pattern[str]:
    variants = sorted({v for vs in rules.sections.values() for v in vs}, key=len, reverse=True)
    alt = "|".join(re.escape(v) for v in variants)
    return re.compile(rf"(?:^|(?<=[\s。；;，,）)\]]))(?:\d+[.、．]\s*)?({alt})\s*[:：]")


def find_sections(text: str, rules: TextRules | None = None) -> list[tuple[int, str]]:
    """Offsets where a section heading starts, with the canonical section name."""
    rules = rules or text_rules()
    canonical = {v: name for name, vs in rules.sections.items() for v in vs}
    return [(m.start(1), canonical[m.group(1)]) for m in _heading_pattern(rules).finditer(text)]


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


def analyse(text: str, rules: TextRules | None = None) -> Document:
    """Sentences (split at 。！？ and line breaks) with their clauses (split at ，；、:) and sections.

    >>> doc = analyse("主诉：胸痛3小时。诊疗经过：行PCI术，术后好转。")
    >>> [(s.section, s.text) for s in doc.sentences]
    [('主诉', '主诉：胸痛3小时。'), ('诊疗经过', '诊疗经过：行PCI术，术后好转。')]
    """
    sections = find_sections(text, rules)
    doc = Document(text=text, sentences=[], sections=sections)
    boundaries = sorted({0, *(s for s, _ in sections), len(text)})
    for lo, hi in itertools.pairwise(boundaries):
        for s_start, s_end in _spans(text, lo, hi, _SENTENCE_END):
            clauses = tuple(
                Clause(c_start, c_end, text[c_start:c_end])
                for c_start, c_end in _spans(text, s_start, s_end, _CLAUSE_END)
            ) or (Clause(s_start, s_end, text[s_start:s_end]),)
            doc.sentences.append(
                Sentence(s_start, s_end, text[s_start:s_end], doc.section_at(s_start), clauses)
            )
    return doc
