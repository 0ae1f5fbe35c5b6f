"""Regression goldens: every row of ``tests/data/heldout*/<slug>.jsonl`` must be judged exactly as labelled.

Hand-written CMQCIC-style notes, outside the dev split, labelled the way the benchmark's annotators label
(the indicator definitions and the dev ``facts``/``logic``), each with a stable ``id`` and a ``why``:

- ``heldout/``: phrasings that differ from the dev split (brand names, abbreviations, English terms and scale
  names, full-width characters, per-group node counts, (-) notation) and hard negatives (planned, refused or
  recommended only; drug stopped or not tolerated; imaging only; threshold just missed; wrong site;
  pathological vs clinical staging; history-only treatment).
- ``heldout2/`` … ``heldout5/``: notes modelled on the dev notes of each indicator and red-team rounds
  (other hospitals' formats, OCR-style typos, station lists, borderline cases).

Each row runs through the same path as ``medqc eval`` (``load_rows`` → ``evaluate_row`` with the lexical
policy, denominator asserted). There is no accuracy gate: a row judged differently from its label fails the
test unless its id is listed, with the reason, in ``tests/data/heldout_known_failures.txt`` (reviewed, as
cql-execution keeps its skip list). A listed row that passes again fails too, so the list stays true.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agents.methods import policy_for
from agents.verifiers.policy import VerificationPolicy
from medqc.commands.eval_cmd import evaluate_row, load_rows

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = sorted(DATA.glob("heldout*/*.jsonl"))
KNOWN_FAILURES = DATA / "heldout_known_failures.txt"
MIN_ROWS = 5
MIN_ROWS_BY_DIR = {"heldout2": 6}

heldout_files = pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])


def known_failures() -> dict[str, str]:
    """Row id → reason, from the known-failures file (``id  reason`` per line, ``#`` comments)."""
    out: dict[str, str] = {}
    for line in KNOWN_FAILURES.read_text(encoding="utf-8").splitlines():
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        row_id, _, reason = body.partition(" ")
        out[row_id] = reason.strip()
    return out


@pytest.fixture(scope="module")
def lexical_policy() -> VerificationPolicy:
    return policy_for("lexical")


def all_rows() -> list[dict[str, Any]]:
    return [row for path in FILES for row in load_rows(path)]


def test_heldout_files_found() -> None:
    assert {p.parent.name for p in FILES} >= {"heldout", "heldout2"}, f"no held-out files under {DATA}"


def test_row_ids_unique_and_known_failures_reviewed() -> None:
    counts = Counter(str(row.get("id")) for row in all_rows())
    assert not [i for i, n in counts.items() if n > 1], "duplicate row ids"
    listed = known_failures()
    assert not [i for i in listed if i not in counts], "known failures that are not row ids"
    assert all(listed.values()), "every known failure needs its reason"


@heldout_files
def test_heldout_rows_well_formed(path: Path, known_keys: frozenset[str]) -> None:
    rows = load_rows(path)
    min_rows = MIN_ROWS_BY_DIR.get(path.parent.name, MIN_ROWS)
    assert len(rows) >= min_rows, f"{path} has {len(rows)} rows, fewer than {min_rows}"
    prefix = f"{path.parent.name}/{path.stem}/"
    problems = [
        f"row {i}: {problem}"
        for i, row in enumerate(rows)
        for problem in (
            f"id {row.get('id')!r} does not start with {prefix!r}"
            if not str(row.get("id") or "").startswith(prefix)
            else None,
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
async def test_heldout_goldens(path: Path, lexical_policy: VerificationPolicy) -> None:
    listed = known_failures()
    unexpected: list[str] = []
    fixed: list[str] = []
    for index, row in enumerate(load_rows(path)):
        result = await evaluate_row(row, index, lexical_policy)
        assert result.covered, f"no spec for {row['unique_id']}"
        row_id = str(row["id"])
        if (result.predicted != result.label) != (row_id in listed):
            note = " ".join(str(row["patient note"]).split())[:100]
            line = f"{row_id} label={row['label']} | {note} | {row.get('why', '')}"
            (fixed if row_id in listed else unexpected).append(line)
    assert not unexpected, "judged differently from the label (fix, or list with a reason):\n" + "\n".join(
        unexpected
    )
    assert not fixed, "listed as known failures but now pass (remove from the list):\n" + "\n".join(fixed)
