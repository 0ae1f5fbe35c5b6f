"""LlamaIndex BM25 retrieval over jieba-tokenised Chinese: the knowledge-base index and note sentences."""

from knowledge_base.retrieval.corpus import Passage
from knowledge_base.retrieval.index import (
    DEFAULT_KB_DIR,
    Hit,
    IndexNotBuiltError,
    KnowledgeIndex,
    build_index,
    ensure_index,
    load_index,
)
from knowledge_base.retrieval.sentences import Sentence, SentenceRetriever, split_sentences

__all__ = [
    "DEFAULT_KB_DIR",
    "Hit",
    "IndexNotBuiltError",
    "KnowledgeIndex",
    "Passage",
    "Sentence",
    "SentenceRetriever",
    "build_index",
    "ensure_index",
    "load_index",
    "split_sentences",
]
