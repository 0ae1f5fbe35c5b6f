"""Held-out notes for the neuro/cardio group (af, stemi, stk, pd, ich, tia, asah, asah2, men, pa, dsa, cas):
hand-written CMQCIC-style notes, labelled from the indicator definitions, in phrasings that differ from the
dev split (brand names and abbreviations of discharge drugs, rt-PA/TNK/EVT/NCCT, English scale names,
full-width characters, CHA₂DS₂-VASc/HAS－BLED spellings) and hard negatives (drug stopped or not tolerated
during the stay, consent talk, refused/recommended only, discharge-only NIHSS, postoperative imaging only,
partial recanalisation, threshold just missed, history-only treatment).

They run through the same path as ``medqc eval`` (``load_rows`` → ``evaluate_row`` with the lexical policy)
and each disease file must stay at accuracy ≥ 0.9, so later lexicon edits cannot silently regress.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.methods import policy_for
from medqc.commands.eval_cmd import evaluate_row, load_rows

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout"
SLUGS = ["af", "stemi", "stk", "pd", "ich", "tia", "asah", "asah2", "men", "pa", "dsa", "cas"]
MIN_ACCURACY = 0.9


@pytest.mark.parametrize("slug", SLUGS)
async def test_heldout_neuro(slug: str) -> None:
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
