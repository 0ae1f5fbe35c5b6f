"""The knowledge-base index: BM25 collections persisted under ``var/kb/`` with a content-hash version.

``build_index`` (exposed as ``medqc kb build``) reads every source, indexes it and writes
``manifest.json``; ``ensure_index`` loads the persisted index when its version matches the current
sources and rebuilds it otherwise (install / first start). The version is recorded with every LLM answer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llama_index.core.schema import TextNode

from knowledge_base.retrieval.bm25 import JiebaBM25Retriever
from knowledge_base.retrieval.corpus import (
    GUIDELINES_DIR,
    Passage,
    PassageKind,
    default_data_dir,
    guideline_passages,
    icd10_passages,
    indicator_passages,
)
from knowledge_base.retrieval.tokenize import TOKENIZER_VERSION

#: Bump when the on-disk layout or the passage rendering changes.
FORMAT_VERSION = "kb/1"
DEFAULT_KB_DIR = Path("var/kb")
MANIFEST = "manifest.json"

#: Collections and the passage kinds each holds. ICD names are kept apart: 35k short names would
#: swamp the term statistics of the indicator and guideline passages.
COLLECTIONS: dict[str, tuple[PassageKind, ...]] = {
    "knowledge": ("indicator", "guideline"),
    "icd10": ("icd10",),
}


class IndexNotBuiltError(LookupError):
    """No index (or an unreadable one) under the persist directory."""


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float


@dataclass(slots=True)
class KnowledgeIndex:
    version: str
    counts: dict[str, int]
    retrievers: dict[str, JiebaBM25Retriever] = field(repr=False)

    def retrieve(self, query: str, *, collection: str = "knowledge", top_k: int = 3) -> list[Hit]:
        """The ``top_k`` best passages of ``collection`` for ``query`` (empty for an empty collection)."""
        retriever = self.retrievers.get(collection)
        if retriever is None:
            return []
        retriever.similarity_top_k = top_k
        return [
            Hit(_passage_of(n.node.metadata, n.node.get_content()), float(n.score or 0.0))
            for n in retriever.retrieve(query)
        ]


_META_KEYS = ["kind", "key", "source"]
_KINDS: dict[str, PassageKind] = {"indicator": "indicator", "guideline": "guideline", "icd10": "icd10"}


def _node(p: Passage) -> TextNode:
    # Minimal metadata: the persisted corpus repeats it per node (35k ICD names).
    return TextNode(
        id_=p.id,
        text=p.content,
        metadata={"kind": p.kind, "key": p.key, "source": p.source},
        excluded_embed_metadata_keys=_META_KEYS,
        excluded_llm_metadata_keys=_META_KEYS,
    )


def _passage_of(meta: dict[str, object], content: str) -> Passage:
    title, _, text = content.partition("\n")
    return Passage(
        _KINDS[str(meta.get("kind"))], str(meta.get("key")), title, text, str(meta.get("source", ""))
    )


def collect_passages(
    data_dir: Path | None = None, guidelines_dir: Path = GUIDELINES_DIR
) -> dict[str, list[Passage]]:
    """Every source passage, grouped by collection."""
    data = data_dir or default_data_dir()
    by_kind: dict[PassageKind, list[Passage]] = {
        "indicator": indicator_passages(data),
        "guideline": guideline_passages(guidelines_dir),
        "icd10": icd10_passages(data),
    }
    return {name: [p for k in kinds for p in by_kind[k]] for name, kinds in COLLECTIONS.items()}


def content_version(passages: Mapping[str, Sequence[Passage]]) -> str:
    """Content hash of the passages, the format and the tokeniser: the knowledge-base version."""
    h = hashlib.sha256(f"{FORMAT_VERSION}\0{TOKENIZER_VERSION}".encode())
    for name in sorted(passages):
        h.update(f"\0collection:{name}".encode())
        for p in passages[name]:
            h.update("\0".join(("", p.kind, p.key, p.title, p.text, p.source)).encode())
    return f"kb-{h.hexdigest()[:16]}"


def build_index(
    persist_dir: Path = DEFAULT_KB_DIR,
    *,
    data_dir: Path | None = None,
    guidelines_dir: Path = GUIDELINES_DIR,
) -> KnowledgeIndex:
    """Read the sources, build every collection and persist it (atomically replacing the old index)."""
    passages = collect_passages(data_dir, guidelines_dir)
    version = content_version(passages)
    started = time.monotonic()
    retrievers = {
        name: JiebaBM25Retriever.from_nodes([_node(p) for p in items])
        for name, items in passages.items()
        if items
    }
    persist_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = persist_dir.with_name(persist_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, retriever in retrievers.items():
        retriever.persist(str(tmp / name), show_progress=False)
    counts = {name: len(items) for name, items in passages.items()}
    manifest = {
        "version": version,
        "format": FORMAT_VERSION,
        "tokenizer": TOKENIZER_VERSION,
        "counts": counts,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.monotonic() - started, 2),
        "sources": {
            "data_dir": str(data_dir or default_data_dir()),
            "indicators": next((p.source for p in passages["knowledge"] if p.kind == "indicator"), None),
            "icd10": "absent" if not passages["icd10"] else "国家临床版2.0",
        },
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    shutil.rmtree(persist_dir, ignore_errors=True)
    tmp.rename(persist_dir)
    return KnowledgeIndex(version, counts, retrievers)


def load_index(persist_dir: Path = DEFAULT_KB_DIR) -> KnowledgeIndex:
    """The persisted index; raises :class:`IndexNotBuiltError` if there is none or it does not load."""
    try:
        manifest = json.loads((persist_dir / MANIFEST).read_text(encoding="utf-8"))
        counts = {str(k): int(v) for k, v in manifest["counts"].items()}
        retrievers = {
            name: JiebaBM25Retriever.from_persist_dir(str(persist_dir / name), show_progress=False)
            for name, n in counts.items()
            if n
        }
    except (OSError, ValueError, KeyError) as exc:
        raise IndexNotBuiltError(f"no usable knowledge-base index under {persist_dir}: {exc}") from exc
    return KnowledgeIndex(str(manifest["version"]), counts, retrievers)


def ensure_index(
    persist_dir: Path = DEFAULT_KB_DIR,
    *,
    data_dir: Path | None = None,
    guidelines_dir: Path = GUIDELINES_DIR,
) -> KnowledgeIndex:
    """Load the persisted index if it is the current sources' version; build it otherwise."""
    current = content_version(collect_passages(data_dir, guidelines_dir))
    try:
        manifest = json.loads((persist_dir / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("version") == current:
            return load_index(persist_dir)
    except (OSError, ValueError, IndexNotBuiltError):
        pass
    return build_index(persist_dir, data_dir=data_dir, guidelines_dir=guidelines_dir)
