"""Benchmark: the published eCQM decks' evaluation time per patient, on the shipped path (the embedded
store on SQLite, the CQL engine from settings, ``$evaluate-measure``'s own function).

Per deck (../shared/data/measures/ecqm-*): the package is loaded as one transaction, then the test
cases whose resource ids no other case of the deck reuses (as the live conformance test). Timed:

- ``first_call_seconds``: the first individual evaluation (translation or ELM parse, measure-bundle
  preparation in the worker, the patient's data);
- ``individual_seconds_median``: one ``subject=Patient/x`` report, median over a sample of cases;
- ``population_seconds`` and ``population_seconds_per_patient``: one ``population`` report over a
  Group of every loaded case (the engine's batch path);
- ``population_matches_expected``: whether that report equals the sum of the cases' expected reports.

    .venv/bin/python bench/bench_ecqm.py [--sample 10]

Writes ``bench/results/ecqm.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measures.evaluate import evaluate_measure  # noqa: E402
from medqc.services import build_services  # noqa: E402
from medqc.settings import Settings  # noqa: E402
from tests.conformance.test_ecqm_decks_live import (  # noqa: E402
    DATA,
    DECKS,
    _counts,
    _matching,
    _measure_id,
    _package,
    _transaction,
)


def _expected_sum(cases: list[Any]) -> list[dict[str, int]]:
    groups: list[dict[str, int]] = []
    for case in cases:
        for index, group in enumerate(case.expected()["group"]):
            while len(groups) <= index:
                groups.append({})
            for code, count in _counts(group).items():
                groups[index][code] = groups[index].get(code, 0) + count
    return groups


async def bench_deck(services: Any, deck: str, sample: int) -> dict[str, Any]:
    repo = services.repo
    await repo.transaction(_transaction(_package(deck)))
    cases = _matching(deck)
    await repo.transaction(_transaction([r for c in cases for r in c.resources()]))
    group_id = f"bench-{deck.removeprefix('ecqm-').lower()}"
    members = [{"entity": {"reference": f"Patient/{c.patient}"}} for c in cases]
    await repo.update(
        "Group", group_id, {"resourceType": "Group", "type": "person", "actual": True, "member": members}
    )
    period = cases[0].expected()["period"]
    args: dict[str, Any] = {
        "measure_id": _measure_id(deck),
        "period_start": period["start"],
        "period_end": period["end"],
        "cql": services.cql,
    }
    started = time.perf_counter()
    await evaluate_measure(repo, **args, report_type="subject", subject=f"Patient/{cases[0].patient}")
    first = time.perf_counter() - started
    samples = []
    for case in cases[1 : sample + 1]:
        started = time.perf_counter()
        await evaluate_measure(repo, **args, report_type="subject", subject=f"Patient/{case.patient}")
        samples.append(time.perf_counter() - started)
    started = time.perf_counter()
    report = await evaluate_measure(repo, **args, report_type="population", subject=f"Group/{group_id}")
    population = time.perf_counter() - started
    got = [_counts(g) for g in report["group"]]
    return {
        "deck": deck,
        "cases": len(cases),
        "groups": len(report["group"]),
        "first_call_seconds": round(first, 3),
        "individual_seconds_median": round(statistics.median(samples), 4) if samples else None,
        "individual_sample": len(samples),
        "population_seconds": round(population, 3),
        "population_seconds_per_patient": round(population / len(cases), 4),
        "population_matches_expected": got == _expected_sum(cases),
    }


async def run(sample: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite",
            seed_catalog=False,
            elm_cache_dir=str(ROOT / "var" / "elm-cache"),
            cql_workers=1,
        )
        services = await build_services(settings, seed=False)
        try:
            for deck in DECKS:
                if (DATA / deck).is_dir():
                    results.append(await bench_deck(services, deck, sample))
        finally:
            await services.close()
    return {
        "benchmark": "ecqm",
        "cpu_count": os.cpu_count(),
        "cql_workers": 1,
        "load_average_1m": {"start": round(load, 2), "end": round(os.getloadavg()[0], 2)},
        "decks": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=10, help="individual evaluations timed per deck")
    args = parser.parse_args()
    result = asyncio.run(run(args.sample))
    out = ROOT / "bench" / "results" / "ecqm.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
