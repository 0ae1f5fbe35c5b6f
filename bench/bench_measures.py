"""Benchmark: population ``$evaluate-measure`` over N synthetic patients, batch vs one call per patient.

    .venv/bin/python bench/bench_measures.py [--patients 1000] [--per-patient-sample 50]

Writes ``bench/results/measures.json``. The batch path is :func:`measures.evaluate.evaluate_measure`
(one worker call for every patient); the baseline calls the same function once per patient
(``subject=Patient/x``), on a sample, extrapolated per patient.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measures.builtin import builtin_resources  # noqa: E402
from measures.engine import get_worker  # noqa: E402
from measures.evaluate import evaluate_measure  # noqa: E402
from tests.measures import factories as f  # noqa: E402
from tests.measures.memory_repo import MemoryRepository  # noqa: E402

MEASURE = "medqc-pci-angiographic-success"


def synthetic(repo: MemoryRepository, n: int) -> list[str]:
    ids = []
    for i in range(n):
        pid = f"bench-{i}"
        eid = f"{pid}-enc"
        repo.put(f.patient(pid, birth=f"{1940 + i % 50}-01-01"))
        repo.put(f.encounter(eid, pid))
        repo.put(f.procedure(f"{pid}-p", pid, eid, "36.0700" if i % 3 else "00.6600"))
        repo.put(f.observation(f"{pid}-rs", pid, eid, "residual-stenosis", value=f.percent(i % 60)))
        repo.put(
            f.observation(
                f"{pid}-timi", pid, eid, "timi-flow-grade", value={"valueInteger": 3 - (i % 7 == 0)}
            )
        )
        ids.append(pid)
    return ids


async def run(n: int, sample: int) -> dict[str, object]:
    repo = MemoryRepository(builtin_resources())
    ids = synthetic(repo, n)
    args = {"measure_id": MEASURE, "period_start": "2024", "period_end": "2024"}
    await evaluate_measure(repo, **args, report_type="subject", subject=f"Patient/{ids[0]}")  # warm up
    t0 = time.perf_counter()
    report = await evaluate_measure(repo, **args, report_type="population", subject=None)
    batch_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    for pid in ids[:sample]:
        await evaluate_measure(repo, **args, report_type="subject", subject=f"Patient/{pid}")
    single_s = (time.perf_counter() - t1) / sample
    await get_worker().close()
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    return {
        "measure": MEASURE,
        "patients": n,
        "cpu_count": os.cpu_count(),
        "batch_seconds": round(batch_s, 3),
        "batch_patients_per_second": round(n / batch_s, 1),
        "per_patient_call_seconds": round(single_s, 4),
        "per_patient_sample": sample,
        "per_patient_extrapolated_seconds": round(single_s * n, 2),
        "speedup_batch_vs_per_patient": round(single_s * n / batch_s, 1),
        "goal": {"speedup_min": 20, "batch_seconds_max_for_1000": 30},
        "population_counts": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--per-patient-sample", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(run(args.patients, args.per_patient_sample))
    out = ROOT / "bench" / "results" / "measures.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
