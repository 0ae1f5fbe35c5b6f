"""Drug and procedure names (``knowledge_base/dictionaries``) and tolerant matching of them in a note.

A lexicon term that is a drug name (generic, brand) or an ICD-9-CM-3 procedure name of at least
``MIN_TOLERANT`` Chinese characters also matches with one character substituted — the usual OCR error
(氯毗格雷, 氯比格雷 for 氯吡格雷) — so misspellings need not be listed by hand. A substituted reading that
is itself another name of the dictionaries (氟伐他汀 is not a misreading of 普伐他汀), or lies inside one
(托伐他汀 in 阿托伐他汀), does not count, nor does one whose substituted character is not a Chinese
character. Shorter names match exactly.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from agents.lexical.lexicon import DICTIONARY_DIR
from agents.lexical.prefilter import guarded

#: Shortest name matched with one substituted character (a two-character name read tolerantly is noise).
MIN_TOLERANT = 3
_CJK = "\u4e00-\u9fff"
_ALL_CJK = re.compile(f"[{_CJK}]+")


class DrugClass(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    atc: str
    generic: list[str]
    brand: list[str]


class DrugDictionary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    classes: dict[str, DrugClass]


@lru_cache(maxsize=2)
def drug_dictionary(directory: Path = DICTIONARY_DIR) -> DrugDictionary:
    path = directory / "drugs.yaml"
    return DrugDictionary.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=2)
def procedure_names(directory: Path = DICTIONARY_DIR) -> frozenset[str]:
    path = directory / "procedures_icd9cm3.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=2)
def names(directory: Path = DICTIONARY_DIR) -> frozenset[str]:
    """Every drug and procedure name of the dictionaries."""
    drugs = drug_dictionary(directory)
    out = {n for c in drugs.classes.values() for n in (*c.generic, *c.brand)}
    return frozenset(out | procedure_names(directory))


def tolerant_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    """The literal terms of an entry read tolerantly: dictionary names of ``MIN_TOLERANT`` or more Chinese
    characters.

    >>> tolerant_terms(("氯吡格雷", "波立维", "PCI", "双抗", "re:替格瑞洛"))
    ('氯吡格雷', '波立维')
    """
    known = names()
    return tuple(
        t for t in terms if len(t) >= MIN_TOLERANT and _ALL_CJK.fullmatch(t) is not None and t in known
    )


@lru_cache(maxsize=1024)
def _tolerant_patterns(terms: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """Two alternations of the one-substitution readings of ``terms``: with a later character substituted
    (氯[CJK]格雷), and — so that every alternative starts with a literal and the first-character guard
    works — the rest of the term after any Chinese character (``(?<=[CJK])吡格雷``, one character to add
    in front of the match)."""
    if not terms:
        return None
    later = {f"{re.escape(t[:i])}[{_CJK}]{re.escape(t[i + 1 :])}" for t in terms for i in range(1, len(t))}
    first = {re.escape(t[1:]) for t in terms}

    def alternation(alts: set[str]) -> str:
        return "|".join(sorted(alts, key=len, reverse=True))

    return (
        re.compile(guarded(alternation(later))),
        re.compile(guarded(f"(?<=[{_CJK}])(?:{alternation(first)})")),
    )


def tolerant_spans(text: str, terms: tuple[str, ...], exact: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of ``text`` where one of ``terms`` is written with one character substituted, outside the
    ``exact`` spans (sorted) and not spelling another dictionary name.

    >>> tolerant_spans("予氯毗格雷75mg，普伐他汀、氟伐他汀、阿托伐他汀", ("氯吡格雷", "普伐他汀"), [(10, 14)])
    [(1, 5)]
    """
    patterns = _tolerant_patterns(tolerant_terms(terms))
    if patterns is None:
        return []
    later, first = patterns
    found = sorted(
        [m.span() for m in later.finditer(text)] + [(m.start() - 1, m.end()) for m in first.finditer(text)],
        key=lambda span: (span[0], -span[1]),
    )
    known = names()
    out: list[tuple[int, int]] = []
    i = 0
    for start, end in found:
        if out and start < out[-1][1]:
            continue  # overlaps an earlier tolerant reading
        while i < len(exact) and exact[i][1] <= start:
            i += 1
        if i < len(exact) and exact[i][0] < end:
            continue  # overlaps an exact match
        if _inside_name(text, start, end, known):
            continue  # another name, or part of one: not a misreading
        out.append((start, end))
    return out


def _inside_name(text: str, start: int, end: int, known: frozenset[str]) -> bool:
    """Whether ``text[start:end]``, or the text around it up to two characters either side, is a name."""
    return any(
        text[a:b] in known
        for a in range(max(0, start - 2), start + 1)
        for b in range(end, min(len(text), end + 2) + 1)
    )
