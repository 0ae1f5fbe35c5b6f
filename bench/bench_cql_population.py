"""CQL population ``$evaluate-measure`` at 1,000 and 10,000 patients in the store: time and memory (issue 18).

For each size a fresh SQLite store is filled (in a process of its own) with synthetic PCI patients — a
patient, an inpatient encounter, a procedure and two observations each, as ``bench_measures.py`` makes
them — and the shipped built-in measures, by bulk insert with the real indexer's rows. Then another
process rates ``medqc-pci-angiographic-success`` for 2024 over every patient with the real path
(``measures.evaluate.evaluate_measure`` on ``SqlRepository``: patient data gathered and streamed to one
Node CQL worker in chunks) after a warm-up call for one patient. It reports the wall time, the Node
worker's CPU time, and the peak resident memory of the Python process and of the Node worker (their
high-water marks, ``VmHWM``). Goals: time growth ≤ 11× for 10× the patients; memory flat in population
size. Writes ``bench/results/cql-population.json``.

    python bench/bench_cql_population.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_measures import MEASURE, worker_cpu_seconds  # noqa: E402
from bench.bench_store import bulk_fill  # noqa: E402
from fhir_ops.store.database import Database  # noqa: E402
from fhir_ops.store.sql_repository import SqlRepository  # noqa: E402
from measures.builtin import builtin_resources  # noqa: E402
from measures.engine import CqlEngine  # noqa: E402
from measures.evaluate import evaluate_measure  # noqa: E402
from medqc.migrate import upgrade_to_head  # noqa: E402
from medqc.tables import import_all_tables  # noqa: E402
from tests.measures import factories as f  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "cql-population.json"
GROWTH_MAX = 11.0


def patients(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        pid = f"bench-{i}"
        eid = f"{pid}-enc"
        out += [
            f.patient(pid, birth=f"{1940 + i % 50}-01-01"),
            f.encounter(eid, pid),
            f.procedure(f"{pid}-p", pid, eid, "36.0700" if i % 3 else "00.6600"),
            f.observation(f"{pid}-rs", pid, eid, "residual-stenosis", value=f.percent(i % 60)),
            f.observation(
                f"{pid}-timi", pid, eid, "timi-flow-grade", value={"valueInteger": 3 - (i % 7 == 0)}
            ),
        ]
    return out


async def fill(url: str, n: int) -> None:
    import_all_tables()
    db = Database(url)
    await upgrade_to_head(db.engine)
    await bulk_fill(db.engine, [*builtin_resources(), *patients(n)])
    await db.dispose()


def _peak_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), None)
    return int(line.split()[1]) if line else None


async def rate(url: str) -> dict[str, Any]:
    import_all_tables()
    db = Database(url)
    repo = SqlRepository(db)
    cql = CqlEngine(node=None, timeout_s=3600, elm_cache_dir=ROOT / "var" / "elm-cache", processes=1)
    args: dict[str, Any] = {"measure_id": MEASURE, "period_start": "2024", "period_end": "2024", "cql": cql}
    try:
        await evaluate_measure(repo, **args, report_type="subject", subject="Patient/bench-0")  # warm-up
        python_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        (worker,) = cql.workers
        node_before = _peak_kb(worker.pid) if worker.pid else None
        cpu0 = worker_cpu_seconds(cql)
        started = time.perf_counter()
        report = await evaluate_measure(repo, **args, report_type="population", subject=None)
        seconds = time.perf_counter() - started
        cpu1 = worker_cpu_seconds(cql)
        node_peak = _peak_kb(worker.pid) if worker.pid else None
    finally:
        await cql.close()
        await db.dispose()
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    return {
        "seconds": round(seconds, 2),
        "engine_cpu_seconds": None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2),
        "python_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python_peak_before_run_mb": round(python_before / 1024, 1),
        "node_peak_rss_mb": None if node_peak is None else round(node_peak / 1024, 1),
        "node_peak_before_run_mb": None if node_before is None else round(node_before / 1024, 1),
        "population_counts": counts,
    }


def _child(step: str, url: str, n: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--step", step, "--url", url, "--n", str(n)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--step", choices=["fill", "rate"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "fill":
        asyncio.run(fill(args.url, args.n))
        print(json.dumps({"filled": args.n}))
        return
    if args.step == "rate":
        print(json.dumps(asyncio.run(rate(args.url))))
        return
    runs = []
    with tempfile.TemporaryDirectory(prefix="medqc-bench-cqlpop-") as tmp:
        for n in args.sizes:
            url = f"sqlite+aiosqlite:///{tmp}/pop-{n}.sqlite"
            started = time.perf_counter()
            _child("fill", url, n)
            fill_s = time.perf_counter() - started
            runs.append({"patients": n, "fill_s": round(fill_s, 1), **_child("rate", url, n)})
            print(json.dumps(runs[-1]), file=sys.stderr)
    small, large = runs[0], runs[-1]
    growth = round(large["seconds"] / small["seconds"], 2)
    report = {
        "benchmark": "CQL population $evaluate-measure in the store (SQLite), one Node worker",
        "measure": MEASURE,
        "cpus": os.cpu_count(),
        "runs": runs,
        "time_growth": growth,
        "patients_growth": round(large["patients"] / small["patients"], 1),
        "python_peak_ratio": round(large["python_peak_rss_mb"] / small["python_peak_rss_mb"], 2),
        "node_peak_ratio": (
            round(large["node_peak_rss_mb"] / small["node_peak_rss_mb"], 2)
            if large["node_peak_rss_mb"] and small["node_peak_rss_mb"]
            else None
        ),
        "goal": {"time_growth_max": GROWTH_MAX, "memory": "flat in population size"},
        "goal_met_time": growth <= GROWTH_MAX,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
