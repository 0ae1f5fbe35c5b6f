"""LlamaIndex BM25 retriever over jieba tokens (the package's own tokeniser is regex + English stemmer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bm25s
import numpy as np
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from llama_index.retrievers.bm25 import BM25Retriever

from knowledge_base.retrieval.tokenize import tokens


class JiebaBM25Retriever(BM25Retriever):  # type: ignore[misc]  # the bm25 package ships no type hints
    """:class:`BM25Retriever` whose corpus and queries are tokenised by jieba; only positive scores return."""

    @classmethod
    def from_nodes(cls, nodes: Sequence[BaseNode], *, similarity_top_k: int = 3) -> JiebaBM25Retriever:
        if not nodes:
            raise ValueError("no nodes to index")
        corpus = [node_to_metadata_dict(n) | {"node_id": n.node_id} for n in nodes]
        bm25 = bm25s.BM25(corpus=corpus)
        bm25.index([tokens(n.get_content()) for n in nodes], show_progress=False)
        return cls(existing_bm25=bm25, similarity_top_k=min(similarity_top_k, len(nodes)))

    @property
    def size(self) -> int:
        return int(self.bm25.scores.get("num_docs", 0))

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vocab: dict[str, int] = self.bm25.vocab_dict
        query = [t for t in tokens(query_bundle.query_str) if t in vocab]
        k = min(self.similarity_top_k, self.size)
        if not query or k <= 0:
            return []
        mask: Any = np.array(self.corpus_weight_mask) if self.corpus_weight_mask else None
        indexes, scores = self.bm25.retrieve([query], k=k, show_progress=False, weight_mask=mask)
        out: list[NodeWithScore] = []
        for idx, score in zip(indexes[0], scores[0], strict=True):
            if float(score) <= 0.0:
                continue
            entry = idx if isinstance(idx, dict) else self.corpus[int(idx)]
            out.append(NodeWithScore(node=metadata_dict_to_node(entry), score=float(score)))
        return out
