"""Retrieval quality on the CMQCIC dev split: is the fact's indicator passage in the top k?

For every dev row and every ``facts[].Fact`` question, the query is the question (the ``= True/False``
tail removed); a hit is the row's ``unique_id`` indicator passage among the ``k`` best passages of the
``knowledge`` collection (indicators + guidelines). The ``disease`` variant prefixes the disease name (the
part of the key before ``_``), which the verifier knows at run time.

    python -m knowledge_base.retrieval.evaluate [--kb-dir var/kb] [--top-k 3]
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.retrieval.corpus import default_data_dir
from knowledge_base.retrieval.index import DEFAULT_KB_DIR, KnowledgeIndex, ensure_index

_ANSWER_TAIL = re.compile(r"\s*=\s*.*$")


@dataclass(frozen=True, slots=True)
class RetrievalScore:
    variant: str
    top_k: int
    queries: int
    hits: int

    @property
    def rate(self) -> float:
        return self.hits / self.queries if self.queries else 0.0


def fact_query(fact: str) -> str:
    """The question part of a CMQCIC fact.

    >>> fact_query("组织活检已进行 = True/False。")
    '组织活检已进行'
    """
    return _ANSWER_TAIL.sub("", fact).strip()


def dev_facts(dev_file: Path) -> list[tuple[str, str]]:
    """(indicator key, fact question) for every fact of every dev row."""
    out: list[tuple[str, str]] = []
    for line in dev_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        out.extend((row["unique_id"], fact_query(str(f["Fact"]))) for f in row.get("facts") or [])
    return out


def score(index: KnowledgeIndex, facts: list[tuple[str, str]], *, top_k: int = 3) -> list[RetrievalScore]:
    results: list[RetrievalScore] = []
    for variant in ("fact", "disease+fact"):
        hits = 0
        for key, question in facts:
            query = question if variant == "fact" else f"{key.split('_', 1)[0]} {question}"
            found = index.retrieve(query, top_k=top_k)
            hits += any(h.passage.kind == "indicator" and h.passage.key == key for h in found)
        results.append(RetrievalScore(variant, top_k, len(facts), hits))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kb-dir", type=Path, default=DEFAULT_KB_DIR)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    dev = data_dir / "cmqcic" / "dev.jsonl"
    if not dev.is_file():
        parser.error(f"{dev} not found")
    index = ensure_index(args.kb_dir, data_dir=data_dir)
    for s in score(index, dev_facts(dev), top_k=args.top_k):
        print(f"kb {index.version} variant={s.variant} top-{s.top_k}: {s.hits}/{s.queries} = {s.rate:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
