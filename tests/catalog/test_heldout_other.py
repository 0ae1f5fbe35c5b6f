"""Held-out notes of the `other` group (UM, CS, PACG, CABG, PCI, EP, HF, CAP, CAC, GIB, GIB2, DM, HTN, IgAN).

Hand-written CMQCIC-style notes (tests/data/heldout/<slug>.jsonl) labelled from the indicator definitions,
run through the same path as `medqc eval` (lexical policy, denominator asserted). Each disease file must stay
at >= 90 % accuracy so lexicon/spec edits cannot silently regress on phrasings outside the dev split.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents.methods import policy_for
from medqc.commands.eval_cmd import evaluate_row, load_rows

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout"
SLUGS = ["um", "cs", "pacg", "cabg", "pci", "ep", "hf", "cap", "cac", "gib", "gib2", "dm", "htn", "igan"]
MIN_ACCURACY = 0.9


async def _accuracy(path: Path) -> tuple[float, list[str]]:
    policy = policy_for("lexical")
    rows = load_rows(path)
    misses: list[str] = []
    for i, row in enumerate(rows):
        result = await evaluate_row(row, i, policy)
        if result.label != result.predicted:
            misses.append(f"{row['unique_id']} [{row['label']}] {row.get('why', '')}")
    return 1 - len(misses) / len(rows), misses


@pytest.mark.parametrize("slug", SLUGS)
def test_heldout_accuracy(slug: str) -> None:
    path = HELDOUT / f"{slug}.jsonl"
    assert path.is_file(), f"missing {path}"
    accuracy, misses = asyncio.run(_accuracy(path))
    assert accuracy >= MIN_ACCURACY, f"{slug}: {accuracy:.3f} < {MIN_ACCURACY}; misses: {misses}"


@pytest.mark.parametrize("slug", SLUGS)
def test_heldout_rows_well_formed(slug: str, indicators_json: dict) -> None:  # type: ignore[type-arg]
    rows = load_rows(HELDOUT / f"{slug}.jsonl")
    assert len({r["unique_id"] for r in rows}) >= 1
    for row in rows:
        assert row["unique_id"] in indicators_json, row["unique_id"]
        assert row["label"] in {"Yes", "No"}
        assert row["patient note"].strip()
        assert row["why"].strip()
