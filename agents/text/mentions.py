"""Find a lexicon entry's mentions in an analysed note: term matching, section/context filters, polarity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from agents.text.cues import CueSet, Polarity, enumeration_polarity, inner_polarity, polarity
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


def _authored_pattern(entry_terms: tuple[str, ...], patterns: tuple[str, ...], matched: str) -> str | None:
    """The regex source(s) that produced ``matched``; None when it is a literal term (cues inside a
    literal term such as 不稳定型心绞痛 are part of the term)."""
    folded = matched.casefold()
    if any(t.casefold() == folded for t in entry_terms if not t.startswith("re:")):
        return None
    sources = [t[3:] for t in entry_terms if t.startswith("re:")] + list(patterns)
    hits = [p for p in sources if re.fullmatch(p, matched, re.IGNORECASE)]
    return "\n".join(hits) if hits else None


def mention_polarity(
    sentence: Sentence, start: int, end: int, cues: CueSet, authored: str | None = None
) -> Polarity:
    """Polarity of the mention ``[start, end)`` (note offsets) in ``sentence``: cues in its clause, else a
    cue inside a regex match (``authored`` = the regex source), else a cue earlier in a 、-enumeration."""
    clause = sentence.clause_at(start)
    rel = start - clause.start
    pol = polarity(clause.text, rel, rel + (end - start), cues)
    if pol != "affirmed":
        return pol
    if authored is not None and end - start > 2:
        pol = inner_polarity(sentence.text[start - sentence.start : end - sentence.start], cues, authored)
        if pol != "affirmed":
            return pol
    before = [c for c in sentence.clauses if c.end <= clause.start]
    if before and not any(t in clause.text[:rel] for t in cues.terminators):
        return enumeration_polarity([c.text for c in before], cues)
    return "affirmed"


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
    all_terms = tuple(entry.terms if terms is None else terms)
    patterns = tuple(entry.regex if regex is None else regex)
    pattern = compile_terms(all_terms, patterns)
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
        if entry.exclude_sentence and contains_any(sentence.text, entry.exclude_sentence):
            continue
        if entry.require and not contains_any(sentence.text, entry.require):
            continue
        in_context = not (entry.context or entry.context_sections) or (
            (section is not None and section in entry.context_sections)
            or (bool(entry.context) and contains_any(sentence.text, entry.context))
        )
        if not in_context and entry.outside_context_confidence is None:
            continue
        authored = _authored_pattern(all_terms, patterns, m.group()) if entry.inner_cues else None
        pol = mention_polarity(sentence, m.start(), m.end(), cues, authored)
        out.append(Mention(m.start(), m.end(), sentence, pol, in_context))
    return out
