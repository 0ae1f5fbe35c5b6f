"""The indicator CQL (production) equals the spec rules (the Python oracle) on every dev case and every
regression note: same populations, same rule result, same needs-review flag.

Each row is verified once with the lexical policy; its fact Observations go to the engine, batched per
disease (one engine run for all the rows of a disease), exactly as ``$qc-evaluate`` sends them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import RuleOracle, VerifiedIndicator, engine_bundle, stay_bounds, verify_indicator
from agents.verifiers.context import VerificationContext
from fhir_ops.data_access.record import record_from_resources
from measures.catalog import spec_for
from measures.catalog.evaluation import CatalogEngine, disease_of
from measures.catalog.outcome import Outcome
from medqc.commands.eval_cmd import row_bundle
from tests.catalog.conftest import CMQCIC

DATA = Path(__file__).resolve().parents[1] / "data"
SOURCES = [CMQCIC / "dev.jsonl", *sorted(DATA.glob("heldout*/*.jsonl"))]


def _rows() -> list[dict[str, Any]]:
    rows = []
    for path in SOURCES:
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if spec_for(str(r["unique_id"])) is not None]


async def _verified(rows: list[dict[str, Any]]) -> list[tuple[int, Any, VerifiedIndicator, Outcome]]:
    policy = policy_for("lexical")
    out = []
    for i, row in enumerate(rows):
        spec = spec_for(str(row["unique_id"]))
        assert spec is not None
        record = record_from_resources(row_bundle(row, i))
        ctx = VerificationContext(record=record)
        verified = await verify_indicator(spec, ctx, policy, placed=True, asserted=True, digest=None)
        (oracle,) = await RuleOracle().judge(record, [verified])
        out.append((i, record, verified, oracle))
    return out


@pytest.mark.slow
async def test_cql_equals_rule_oracle_on_dev_and_regression_notes(catalog_engine: CatalogEngine) -> None:
    rows = _rows()
    assert len(rows) > 1000, "dev split or regression notes missing"
    judged = await _verified(rows)
    by_disease: dict[str, list[tuple[int, Any, VerifiedIndicator, Outcome]]] = {}
    for item in judged:
        by_disease.setdefault(item[2].spec.disease, []).append(item)
    mismatches = []
    for items in by_disease.values():
        disease = disease_of(items[0][2].spec)
        patients = [engine_bundle(record, v.observations) for _, record, v, _ in items]
        start, end = stay_bounds(patients[0][0]["entry"][1]["resource"])
        results = await catalog_engine.outcomes(
            disease, [(bundle, [enc]) for bundle, enc in patients], period_start=start, period_end=end
        )
        for (i, _, v, oracle), result, (_, enc) in zip(items, results, patients, strict=True):
            cql = result[(v.spec.id, enc)]
            if cql != oracle:
                mismatches.append((rows[i]["unique_id"], i, oracle, cql))
    assert not mismatches, f"{len(mismatches)} of {len(rows)} differ, e.g. {mismatches[:3]}"
