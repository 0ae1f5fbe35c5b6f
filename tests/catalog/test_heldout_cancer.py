"""Held-out notes for the cancer group (lungca, gastricca, breastca, esophca, crc, thyroidca, prostateca,
cervicalca, hcc, rcc): hand-written CMQCIC-style notes, labelled from the indicator definitions, in phrasings
that differ from the dev split (abbreviations, English terms, per-group node counts, (-) notation) and hard
negatives (planned/refused, imaging-only, threshold just missed, wrong site, pathological vs clinical staging).

They run through the same path as ``medqc eval`` (``load_rows`` → ``evaluate_row`` with the lexical policy)
and each disease file must stay at accuracy ≥ 0.9, so later lexicon edits cannot silently regress.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.methods import policy_for
from medqc.commands.eval_cmd import evaluate_row, load_rows

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout"
SLUGS = ["lungca", "gastricca", "breastca", "esophca", "crc", "thyroidca", "prostateca", "cervicalca", "hcc", "rcc"]
MIN_ACCURACY = 0.9


@pytest.mark.parametrize("slug", SLUGS)
async def test_heldout_cancer(slug: str) -> None:
    path = HELDOUT / f"{slug}.jsonl"
    rows = load_rows(path)
    assert len(rows) >= 5, f"{path} has too few rows"
    policy = policy_for("lexical")
    wrong: list[str] = []
    for index, row in enumerate(rows):
        result = await evaluate_row(row, index, policy)
        assert result.covered, f"no spec for {row['unique_id']}"
        if result.predicted != result.label:
            wrong.append(f"{row['label']}: {row['unique_id']} | {row['patient note'][:80]}")
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= MIN_ACCURACY, f"{slug} held-out accuracy {accuracy:.3f} < {MIN_ACCURACY}:\n" + "\n".join(wrong)
