"""Retrieval over the table's names: BM25 (``bm25s``) over jieba tokens and character bigrams, then a
rerank by character-bigram Dice similarity to the mention, which is the match confidence.

Bigrams make retrieval robust to jieba's segmentation of rare clinical compounds; the rerank prefers the
name closest to what the clinician wrote, so ``不稳定型心绞痛`` finds ``I20.000`` and not a longer
relative.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import bm25s

from knowledge_base.icd.normalise import bigrams, normalise_name
from knowledge_base.icd.table import IcdEntry, IcdTable, preference
from knowledge_base.retrieval.tokenize import tokens

#: How many BM25 hits are reranked.
RETRIEVE_K = 40


@dataclass(frozen=True, slots=True)
class Match:
    entry: IcdEntry
    score: float
    exact: bool


def dice(a: str, b: str) -> float:
    """Dice coefficient of the character-bigram multisets of ``a`` and ``b``.

    >>> round(dice("急性阑尾炎", "急性阑尾炎伴穿孔"), 2)
    0.73
    """
    ca, cb = Counter(bigrams(a)), Counter(bigrams(b))
    total = sum(ca.values()) + sum(cb.values())
    return 2 * sum((ca & cb).values()) / total if total else 0.0


def _terms(normalised: str) -> list[str]:
    return [*tokens(normalised), *bigrams(normalised)]


class IcdIndex:
    """Search the table by a (normalised) diagnosis mention."""

    def __init__(self, table: IcdTable) -> None:
        self.table = table
        self._names = [normalise_name(e.name) for e in table.entries]
        self._bm25 = bm25s.BM25()
        self._bm25.index([_terms(n) for n in self._names], show_progress=False)
        self._vocab: dict[str, int] = self._bm25.vocab_dict
        self._lock = threading.Lock()

    def search(self, mention: str, k: int = 5) -> list[Match]:
        """The best ``k`` entries for ``mention`` (already normalised), best first."""
        if not mention:
            return []
        exact = self.table.by_name.get(mention)
        if exact:
            return [Match(e, 1.0, True) for e in exact[:k]]
        query = [t for t in _terms(mention) if t in self._vocab]
        if not query:
            return []
        with self._lock:  # bm25s retrieval is not documented as thread-safe
            hits, _ = self._bm25.retrieve([query], k=min(RETRIEVE_K, len(self._names)), show_progress=False)
        seen: dict[str, Match] = {}
        for idx in hits[0]:
            i = int(idx)
            entry = self.table.entries[i]
            score = dice(mention, self._names[i])
            prev = seen.get(self._names[i])
            if prev is None or preference(entry) < preference(prev.entry):
                seen[self._names[i]] = Match(entry, score, False)
        ranked = sorted(seen.values(), key=lambda m: (-m.score, preference(m.entry)))
        return ranked[:k]


@lru_cache(maxsize=4)
def index_for(table: IcdTable) -> IcdIndex:
    return IcdIndex(table)
