"""Round-2 held-out notes for the neuro2 group (stemi, stk, tia, pd, ich, asah2, men, dsa).

Written in the style of the CMQCIC dev notes of each indicator (long admission/treatment paragraphs, typos such
as 阿斯匹林/NIHHS, shared treatment snippets judged for several discharge-drug indicators) and labelled the way
the benchmark's annotators reason in the dev ``facts``/``logic`` fields: any mention of the drug in the
treatment counts for the STEMI discharge drugs unless it is withheld/not tolerated; NIHSS < 4 and ABCD2 >= 4 are
checked inside the DAPT rules; UCG needs a written LVEF from the echo (not ventriculography/CMR); an
assessment of thrombectomy "获益有限" is not a thrombectomy.

Same path as ``medqc eval`` (``load_rows`` → ``evaluate_row`` with the lexical policy); each disease file must
stay at accuracy >= 0.9.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.methods import policy_for
from medqc.commands.eval_cmd import evaluate_row, load_rows

HELDOUT2 = Path(__file__).resolve().parents[1] / "data" / "heldout2"
SLUGS = ["stemi", "stk", "tia", "pd", "ich", "asah2", "men", "dsa"]
MIN_ACCURACY = 0.9


@pytest.mark.parametrize("slug", SLUGS)
async def test_heldout2_neuro2(slug: str) -> None:
    path = HELDOUT2 / f"{slug}.jsonl"
    rows = load_rows(path)
    assert len(rows) >= 6, f"{path} has too few rows"
    policy = policy_for("lexical")
    wrong: list[str] = []
    for index, row in enumerate(rows):
        result = await evaluate_row(row, index, policy)
        assert result.covered, f"no spec for {row['unique_id']}"
        if result.predicted != result.label:
            wrong.append(f"{row['label']}: {row['unique_id']} | {row['patient note'][:80]}")
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= MIN_ACCURACY, f"{slug} held-out-2 accuracy {accuracy:.3f} < {MIN_ACCURACY}:\n" + "\n".join(wrong)
