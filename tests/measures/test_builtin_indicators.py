"""Each built-in indicator's synthetic patients, through the real engine (individual reports)."""

from __future__ import annotations

from typing import Any

import pytest

from measures.engine import CqlEngine
from measures.evaluate import evaluate_measure
from tests.measures.conftest import indicator_cases
from tests.measures.memory_repo import MemoryRepository

CASES = indicator_cases()


def counts(group: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"] if p["count"]}


@pytest.mark.parametrize("case", CASES, ids=[f"{c['measure']}/{c['case']}" for c in CASES])
async def test_indicator_case(seeded_repo: MemoryRepository, cql: CqlEngine, case: dict[str, Any]) -> None:
    pid = case["resources"][0]["id"]
    report = await evaluate_measure(
        seeded_repo,
        cql=cql,
        measure_id=case["measure"],
        period_start="2024",
        period_end="2024",
        report_type="subject",
        subject=f"Patient/{pid}",
    )
    assert report["type"] == "individual"
    assert report["subject"] == {"reference": f"Patient/{pid}"}
    groups = {g["id"]: counts(g) for g in report["group"]}
    expected = case["expected"]
    if not (expected and set(expected) <= {"aspirin", "p2y12", "beta-blocker", "statin"}):
        expected = {"main": expected}
    assert groups == {g: {code: n for code, n in pops.items() if n} for g, pops in expected.items()}
