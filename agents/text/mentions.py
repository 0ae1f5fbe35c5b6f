"""Find a lexicon entry's mentions in an analysed note: term matching, section/context filters, polarity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from agents.text.cues import CueSet, Polarity, polarity
from agents.text.document import Document, Sentence
from knowledge_base.lexicon import LexiconEntry, text_rules


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    sentence: Sentence
    polarity: Polarity
    in_context: bool

    @property
    def clause_span(self) -> tuple[int, int]:
        clause = self.sentence.clause_at(self.start)
        return clause.start, max(clause.end, self.end)


def _term_pattern(term: str) -> str:
    if term.startswith("re:"):
        return f"(?:{term[3:]})"
    escaped = re.escape(term)
    if term.isascii() and term[:1].isalnum():
        return rf"(?<![A-Za-z]){escaped}(?![A-Za-z])"
    return escaped


@lru_cache(maxsize=2048)
def compile_terms(terms: tuple[str, ...], patterns: tuple[str, ...] = ()) -> re.Pattern[str] | None:
    """One alternation, longest terms first, case-insensitive; None when there is nothing to match.

    A term written ``re:<pattern>`` is a regular expression.
    """
    alts = [_term_pattern(t) for t in sorted(set(terms), key=len, reverse=True) if t]
    alts.extend(f"(?:{p})" for p in patterns)
    return re.compile("|".join(alts), re.IGNORECASE) if alts else None


def contains_any(text: str, terms: list[str]) -> bool:
    pattern = compile_terms(tuple(terms))
    return bool(pattern and pattern.search(text))


_CUE_SETS: dict[int, tuple[LexiconEntry, CueSet]] = {}


def cue_set(entry: LexiconEntry) -> CueSet:
    """The default cues with the entry's overrides (cached per entry object)."""
    cached = _CUE_SETS.get(id(entry))
    if cached is None or cached[0] is not entry:
        cached = _CUE_SETS[id(entry)] = (
            entry,
            CueSet.build(text_rules().cues, entry.negation, entry.uncertainty),
        )
    return cached[1]


def find_mentions(
    entry: LexiconEntry, doc: Document, terms: list[str] | None = None, regex: list[str] | None = None
) -> list[Mention]:
    """Mentions of ``terms`` (default: the entry's) that pass the entry's section, exclude/require filters."""
    pattern = compile_terms(
        tuple(entry.terms if terms is None else terms), tuple(entry.regex if regex is None else regex)
    )
    if pattern is None:
        return []
    cues = cue_set(entry)
    out: list[Mention] = []
    for m in pattern.finditer(doc.text):
        if m.end() == m.start():
            continue
        sentence = doc.sentence_at(m.start())
        section = sentence.section
        if entry.sections and section not in entry.sections:
            continue
        if section is not None and section in entry.exclude_sections:
            continue
        clause = sentence.clause_at(m.start())
        if entry.exclude and contains_any(clause.text, entry.exclude):
            continue
        if entry.require and not contains_any(sentence.text, entry.require):
            continue
        in_context = not (entry.context or entry.context_sections) or (
            (section is not None and section in entry.context_sections)
            or (bool(entry.context) and contains_any(sentence.text, entry.context))
        )
        if not in_context and entry.outside_context_confidence is None:
            continue
        rel_start = m.start() - clause.start
        pol = polarity(clause.text, rel_start, rel_start + (m.end() - m.start()), cues)
        out.append(Mention(m.start(), m.end(), sentence, pol, in_context))
    return out
