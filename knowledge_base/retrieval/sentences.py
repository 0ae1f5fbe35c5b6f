"""Note sentences and the sentence retriever: the note sentences most relevant to a fact (BM25, jieba).

Sentences keep their character offsets into the note text, so what the model quotes can be checked
against the note and located.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from llama_index.core.schema import TextNode

from knowledge_base.retrieval.bm25 import JiebaBM25Retriever

_SENTENCE_END = re.compile(r"[。；;！？!?\n]+")
_CLAUSE_END = re.compile(r"[，,]")
MAX_SENTENCE_CHARS = 120


class NoteLike(Protocol):
    """A note: ``fhir_ops.data_access.record.Note`` or anything with a reference and a text."""

    @property
    def reference(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Sentence:
    reference: str
    text: str
    start: int
    end: int


def split_sentences(text: str, reference: str = "", max_chars: int = MAX_SENTENCE_CHARS) -> list[Sentence]:
    """Split on sentence punctuation and newlines; cut sentences longer than ``max_chars`` at commas.

    >>> [s.text for s in split_sentences("主诉：胸痛2小时。查体：BP 120/80mmHg；心率80次/分")]
    ['主诉：胸痛2小时。', '查体：BP 120/80mmHg；', '心率80次/分']
    """
    out: list[Sentence] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        out.extend(_pieces(text, start, m.end(), reference, max_chars))
        start = m.end()
    out.extend(_pieces(text, start, len(text), reference, max_chars))
    return out


def _pieces(text: str, start: int, end: int, reference: str, max_chars: int) -> list[Sentence]:
    spans: list[tuple[int, int]] = []
    cut = start
    if end - start > max_chars:
        for m in _CLAUSE_END.finditer(text, start, end):
            if m.end() - cut >= max_chars // 2:
                spans.append((cut, m.end()))
                cut = m.end()
    spans.append((cut, end))
    out: list[Sentence] = []
    for lo, hi in spans:
        s, e = lo, hi
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Sentence(reference, text[s:e], s, e))
    return out


class SentenceRetriever:
    """BM25 over the sentences of one encounter's notes."""

    def __init__(self, notes: Sequence[NoteLike]) -> None:
        self.sentences = [s for note in notes for s in split_sentences(note.text, note.reference)]
        nodes = [TextNode(id_=str(i), text=s.text) for i, s in enumerate(self.sentences)]
        self._retriever = JiebaBM25Retriever.from_nodes(nodes) if nodes else None

    def retrieve(self, query: str, top_k: int = 6) -> list[Sentence]:
        """The ``top_k`` most relevant sentences, in note order (empty when nothing matches)."""
        if self._retriever is None:
            return []
        self._retriever.similarity_top_k = top_k
        hits = self._retriever.retrieve(query)
        picked = sorted(int(h.node.node_id) for h in hits)
        return [self.sentences[i] for i in picked]
