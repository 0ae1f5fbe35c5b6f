"""Round-2 held-out notes for the cancer2 group (lungca, crc, breastca, gastricca, esophca).

Hand-written CMQCIC-style notes modelled on the dev notes of each indicator that has dev rows (辅助检查/诊治经过
sections, pathology reports with OCR-style typos, Roman-numeral and 第2、4组 station lists, per-group node
counts), labelled the way the benchmark's annotators label (dev ``facts``/``logic``): e.g. a lung resection
needs a stated bronchial margin, interpectoral nodes are not axillary nodes, only stations 2/3/4/8/9 count as
mediastinal, "预约中/建议" examinations are not done, postoperative pathology alone is not a pre-treatment
diagnosis for gastric/oesophageal cancer, CT “（增强）” after the region list is an enhanced CT.

They run through the same path as ``medqc eval`` and each disease file must stay at accuracy ≥ 0.9.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.methods import policy_for
from medqc.commands.eval_cmd import evaluate_row, load_rows

HELDOUT2 = Path(__file__).resolve().parents[1] / "data" / "heldout2"
SLUGS = ["lungca", "crc", "breastca", "gastricca", "esophca"]
MIN_ACCURACY = 0.9


@pytest.mark.parametrize("slug", SLUGS)
async def test_heldout2_cancer2(slug: str) -> None:
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
