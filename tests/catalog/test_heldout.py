"""Held-out notes: every ``tests/data/heldout*/<slug>.jsonl`` must stay at accuracy ≥ 0.9.

Hand-written CMQCIC-style notes, outside the dev split, labelled the way the benchmark's annotators label
(the indicator definitions and the dev ``facts``/``logic``), each with a ``why``:

- ``heldout/``: phrasings that differ from the dev split (brand names, abbreviations, English terms and scale
  names, full-width characters, per-group node counts, (-) notation) and hard negatives (planned, refused or
  recommended only; drug stopped or not tolerated; imaging only; threshold just missed; wrong site;
  pathological vs clinical staging; history-only treatment).
- ``heldout2/``: notes modelled on the dev notes of each indicator (long admission/treatment paragraphs,
  OCR-style typos, station lists, IOLMaster layouts) with borderline cases (pending examinations, stopped
  diuretics, postoperative pathology alone, interpectoral vs axillary nodes, 获益有限 is not a thrombectomy).

Each file is discovered, checked for well-formed rows, and run through the same path as ``medqc eval``
(``load_rows`` → ``evaluate_row`` with the lexical policy, denominator asserted), so lexicon and spec edits
cannot silently regress on phrasings outside the dev split. A new held-out file is picked up as it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.verifiers.policy import VerificationPolicy
from medqc.commands.eval_cmd import evaluate_row, load_rows

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = sorted(DATA.glob("heldout*/*.jsonl"))
MIN_ACCURACY = 0.9
MIN_ROWS = 5
MIN_ROWS_BY_DIR = {"heldout2": 6}

heldout_files = pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])


@pytest.fixture(scope="module")
def lexical_policy() -> VerificationPolicy:
    return policy_for("lexical")


def test_heldout_files_found() -> None:
    assert {p.parent.name for p in FILES} >= {"heldout", "heldout2"}, f"no held-out files under {DATA}"


@heldout_files
def test_heldout_rows_well_formed(path: Path, known_keys: frozenset[str]) -> None:
    rows = load_rows(path)
    min_rows = MIN_ROWS_BY_DIR.get(path.parent.name, MIN_ROWS)
    assert len(rows) >= min_rows, f"{path} has {len(rows)} rows, fewer than {min_rows}"
    problems = [
        f"row {i}: {problem}"
        for i, row in enumerate(rows)
        for problem in (
            f"unique_id {row.get('unique_id')!r} is not an indicator key"
            if row.get("unique_id") not in known_keys
            else None,
            f"label {row.get('label')!r} is not Yes/No" if row.get("label") not in {"Yes", "No"} else None,
            "empty patient note" if not str(row.get("patient note") or "").strip() else None,
            "empty why" if not str(row.get("why") or "").strip() else None,
        )
        if problem
    ]
    assert not problems, f"{path}:\n" + "\n".join(problems)


@heldout_files
async def test_heldout_accuracy(path: Path, lexical_policy: VerificationPolicy) -> None:
    rows = load_rows(path)
    assert rows, f"{path} has no rows"
    wrong: list[str] = []
    for index, row in enumerate(rows):
        result = await evaluate_row(row, index, lexical_policy)
        assert result.covered, f"no spec for {row['unique_id']}"
        if result.predicted != result.label:
            wrong.append(
                f"{row['label']}: {row['unique_id']} | {row['patient note'][:80]} | {row.get('why', '')}"
            )
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= MIN_ACCURACY, (
        f"{path.parent.name}/{path.name} accuracy {accuracy:.3f} < {MIN_ACCURACY}:\n" + "\n".join(wrong)
    )
