"""The worker's lean calculation path against fqm-execution's stock ``Calculator.calculate``, the
prepared-measure cache across worker restarts, and chunked patient-data gathering."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from measures.builtin import builtin_resources
from measures.engine import CqlEngine, CqlWorkerError
from measures.engine.calculate import calculate_measure
from measures.evaluate import evaluate_measure
from measures.measure_bundle import build_measure_bundle
from measures.patient_data import patient_bundles
from tests.measures import factories as f
from tests.measures.memory_repo import MemoryRepository

MEASURES = sorted(r["id"] for r in builtin_resources() if r["resourceType"] == "Measure")


def _outcome(report: dict[str, Any]) -> tuple[Any, Any]:
    return report["group"], sorted(report.get("contained", []), key=lambda r: str(r["id"]))


@pytest.mark.parametrize("measure_id", MEASURES)
async def test_prepared_path_agrees_with_stock_fqm(
    seeded_repo: MemoryRepository, cql: CqlEngine, measure_id: str
) -> None:
    args: dict[str, Any] = {
        "measure_id": measure_id,
        "period_start": "2024",
        "period_end": "2024",
        "report_type": "subject-list",
        "subject": None,
    }
    lean = await evaluate_measure(seeded_repo, cql=cql, **args, engine="prepared")
    stock = await evaluate_measure(seeded_repo, cql=cql, **args, engine="fqm")
    assert _outcome(lean) == _outcome(stock)
    assert any(p["count"] for g in lean["group"] for p in g["population"])


async def test_prepared_measure_is_sent_again_to_a_restarted_worker(seeded_repo: MemoryRepository) -> None:
    cql = CqlEngine(node=None, timeout_s=300, elm_cache_dir="var/elm-cache", processes=1)
    measure = await seeded_repo.read("Measure", "medqc-pci-angiographic-success")
    prepared = await build_measure_bundle(seeded_repo, measure, engine=cql)
    ids = [p["id"] for p in (await seeded_repo.search("Patient", [("_count", "1000")])).matches]
    bundles = await patient_bundles(seeded_repo, ids, prepared.data_types)
    (worker,) = cql.workers
    kwargs: dict[str, Any] = {
        "period_start": "2024-01-01",
        "period_end": "2024-12-31",
        "include_evaluated": False,
        "cql": cql,
    }
    first = await calculate_measure(prepared.bundle, bundles, measure_key=prepared.key, **kwargs)
    assert worker.has_prepared(prepared.key)
    pid = worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    again = await calculate_measure(prepared.bundle, bundles, measure_key=prepared.key, **kwargs)
    assert again == first
    assert worker.pid != pid
    assert worker.has_prepared(prepared.key)
    await cql.close()


async def test_unknown_measure_key_is_a_worker_error(cql: CqlEngine) -> None:
    with pytest.raises(CqlWorkerError) as info:
        async with cql.lease() as worker:
            await worker.request(
                "calculate",
                {
                    "measureKey": "no-such-key",
                    "patientBundles": [],
                    "periodStart": "2024",
                    "periodEnd": "2024",
                },
            )
    assert info.value.code == "unknown-measure"


async def test_patient_bundles_are_gathered_in_chunks() -> None:
    repo = MemoryRepository()
    for i in range(5):
        pid = f"p{i}"
        repo.put(f.patient(pid))
        repo.put(f.encounter(f"{pid}-e", pid))
        for j in range(i):
            repo.put(
                f.observation(f"{pid}-o{j}", pid, f"{pid}-e", "timi-flow-grade", value={"valueInteger": 3})
            )
    repo.searches = 0
    order = ["p3", "p0", "p4", "p1", "p2"]
    bundles = await patient_bundles(repo, order, {"Patient", "Encounter", "Observation"}, chunk=2)
    assert repo.searches == 3 * 3  # 3 chunks x (Patient, Encounter, Observation)
    for pid, bundle in zip(order, bundles, strict=True):
        entries = [e["resource"] for e in bundle["entry"]]
        assert entries[0] == {**f.patient(pid)}
        assert {r["id"] for r in entries[1:]} == {f"{pid}-e"} | {f"{pid}-o{j}" for j in range(int(pid[1:]))}
