"""Embedded store: load throughput, and per-patient search latency as the store grows.

Loads one Synthea bundle, times ``Observation?patient=…``, ``Encounter?patient=…`` and
``DocumentReference?patient=…&_count=100`` for its patient; then loads all eight bundles and times the
same searches for the same patient. The ratio (all / one) shows whether the index keeps a one-patient
search independent of the store's size. Writes ``bench/results/store.json``.

    python bench/bench_store.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from medqc.loader import as_transaction, read_resources
from medqc.services import build_services
from medqc.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SYNTHEA = ROOT.parent / "shared" / "data" / "fhir" / "synthea"
FIRST = "Bundle-lung_cancer_sepsis_CABGhx-129c6ac7-8d06-89de-ad63-0204a93e76c3.json"
PATIENT = "129c6ac7-8d06-89de-ad63-0204a93e76c3"
QUERIES: list[tuple[str, list[tuple[str, str]]]] = [
    ("Observation", [("patient", PATIENT)]),
    ("Encounter", [("patient", PATIENT), ("_sort", "-date")]),
    ("DocumentReference", [("patient", PATIENT), ("_count", "100")]),
    ("Procedure", [("patient", PATIENT), ("date", "ge2010")]),
]


async def _time_searches(services: Any, repeat: int) -> dict[str, float]:
    out = {}
    for rtype, params in QUERIES:
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            await services.repo.search(rtype, params)
            samples.append((time.perf_counter() - started) * 1000)
        out[rtype] = statistics.median(samples)
    return out


async def run(repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite", seed_catalog=False)
        services = await build_services(settings, seed=False)
        try:
            first = as_transaction(read_resources(SYNTHEA / FIRST))
            started = time.perf_counter()
            await services.repo.transaction(first)
            load_one_s = time.perf_counter() - started
            small = await _time_searches(services, repeat)
            total = len(first["entry"])
            started = time.perf_counter()
            for path in sorted(SYNTHEA.glob("*.json")):
                if path.name != FIRST:
                    bundle = as_transaction(read_resources(path))
                    total += len(bundle["entry"])
                    await services.repo.transaction(bundle)
            load_rest_s = time.perf_counter() - started
            large = await _time_searches(services, repeat)
        finally:
            await services.close()
    return {
        "benchmark": "store",
        "resources_loaded": total,
        "load_resources_per_s": round(total / (load_one_s + load_rest_s), 1),
        "search_ms_one_bundle": {k: round(v, 2) for k, v in small.items()},
        "search_ms_all_bundles": {k: round(v, 2) for k, v in large.items()},
        "search_ratio_all_vs_one": {k: round(large[k] / small[k], 2) for k in small},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(run(args.repeat))
    out = ROOT / "bench" / "results" / "store.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
