"""Benchmark: a population rating on Ray, 1 and 2 local workers, on synthetic inpatient encounters.

    .venv/bin/python bench/bench_population.py [--encounters 200] [--partition 25] [--database-url URL]

The encounters are generated from the CMQCIC dev notes (``../shared/data/cmqcic/dev.jsonl``): each a
fresh Patient (every other pair of stays shares one), an inpatient Encounter discharged on a day spread
across 2026, the diagnosis coded with the indicator's ICD-10 prefix and the note as a DocumentReference.
For each worker count a fresh SQLite store is seeded with the catalog and loaded, then the year is
rated with :func:`agents.scale.ray_run.rate_population` (every encounter judged: lexical verification,
fact Observations written, then the catalog CQL per partition). Reported: encounters per second, the
peak memory of each worker process and of its Node CQL worker, and the cores (and 16-core nodes) that
would rate 10^6 encounters in one 8-hour night at the rate of one worker (and, more pessimistic, at
half the 2-worker rate). ``--database-url`` rates on a PostgreSQL database of the benchmark's own
(emptied before each run) instead of SQLite files. Writes ``bench/results/population.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.scale.ray_run import rate_population  # noqa: E402
from fhir_ops.store.protocol import ResourceRepository  # noqa: E402
from measures.catalog.loader import spec_for  # noqa: E402
from measures.period import parse_period  # noqa: E402
from medqc.bundles import as_transaction  # noqa: E402
from medqc.settings import Settings  # noqa: E402

DEV_NOTES = ROOT.parent / "shared" / "data" / "cmqcic" / "dev.jsonl"
RESULTS = ROOT / "bench" / "results" / "population.json"
YEAR = 2026
NIGHT_S = 8 * 3600
TARGET = 1_000_000
NODE_CORES = 16
LOAD_CHUNK = 400  # resources per load transaction


def dev_notes(diseases: set[str] | None = None) -> list[tuple[str, str]]:
    """(indicator key, note) of every dev record whose indicator is in ``diseases`` (None: all)."""
    out = []
    for line in DEV_NOTES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        spec = spec_for(str(record["unique_id"]))
        if spec is not None and (diseases is None or spec.disease in diseases):
            out.append((spec.key, str(record["patient note"])))
    return out


def synthetic_stays(
    count: int, *, diseases: set[str] | None = None, tag: str = "syn"
) -> list[dict[str, Any]]:
    """``count`` inpatient stays (Patient, Encounter, Condition, DocumentReference) from the dev notes,
    ids prefixed ``tag``, discharges spread across :data:`YEAR`; stays 4k and 4k+1 share a patient."""
    import base64

    notes = dev_notes(diseases)
    resources: list[dict[str, Any]] = []
    patients: set[str] = set()
    for i in range(count):
        key, note = notes[i % len(notes)]
        spec = spec_for(key)
        assert spec is not None
        patient = f"{tag}-p{i // 2}a" if i % 4 < 2 else f"{tag}-p{i}b"
        encounter = f"{tag}-e{i}"
        day = date(YEAR, 1, 1) + timedelta(days=(i * 37) % 365)
        if patient not in patients:
            patients.add(patient)
            resources.append({"resourceType": "Patient", "id": patient, "gender": "male"})
        ref = {"reference": f"Patient/{patient}"}
        resources += [
            {
                "resourceType": "Encounter",
                "id": encounter,
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "subject": ref,
                "period": {
                    "start": f"{(day - timedelta(days=3)).isoformat()}T09:00:00+08:00",
                    "end": f"{day.isoformat()}T15:00:00+08:00",
                },
            },
            {
                "resourceType": "Condition",
                "id": f"{encounter}-dx",
                "subject": ref,
                "encounter": {"reference": f"Encounter/{encounter}"},
                "code": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10",
                            "code": (spec.denominator.icd10 or ["R69"])[0],
                        }
                    ]
                },
            },
            {
                "resourceType": "DocumentReference",
                "id": f"{encounter}-note",
                "status": "current",
                "subject": ref,
                "context": {"encounter": [{"reference": f"Encounter/{encounter}"}]},
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain; charset=utf-8",
                            "data": base64.b64encode(note.encode()).decode(),
                        }
                    }
                ],
            },
        ]
    return resources


async def load(repo: ResourceRepository, resources: list[dict[str, Any]]) -> None:
    """Patients first, then the rest, :data:`LOAD_CHUNK` resources per transaction."""
    ordered = sorted(resources, key=lambda r: r["resourceType"] != "Patient")
    for i in range(0, len(ordered), LOAD_CHUNK):
        await repo.transaction(as_transaction(ordered[i : i + LOAD_CHUNK]))


async def empty_postgres(url: str) -> None:
    """Drop and recreate the public schema of the benchmark's own PostgreSQL database."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def run_once(
    workers: int, encounters: int, measure_id: str, partition: int, database_url: str | None
) -> dict[str, Any]:
    from medqc.services import build_services

    with tempfile.TemporaryDirectory() as tmp:
        if database_url:
            await empty_postgres(database_url)
        url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite"
        settings = Settings(database_url=url, log_level="WARNING", cds_auth="off")
        services = await build_services(settings)
        try:
            await load(services.repo, synthetic_stays(encounters))
            measure = await services.repo.read("Measure", measure_id)
            period = parse_period(f"{YEAR}-01-01", f"{YEAR}-12-31")
            run = await rate_population(
                settings, services.repo, measure, period, workers=workers, partition_patients=partition
            )
        finally:
            await services.close()
    populations = {p["code"]["coding"][0]["code"]: p["count"] for p in run.report["group"][0]["population"]}
    by_pid: dict[int, tuple[float, float]] = {}
    for part in run.partitions:
        seen = by_pid.get(part.pid, (0.0, 0.0))
        by_pid[part.pid] = (max(seen[0], part.max_rss_mb), max(seen[1], part.node_max_rss_mb))
    return {
        "workers": workers,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "encounters": run.encounters,
        "partitions": len(run.partitions),
        "seconds": run.seconds,
        "encounters_per_s": round(run.encounters / run.seconds, 2),
        "judged": sum(p.judged for p in run.partitions),
        "populations": populations,
        "worker_processes": len(by_pid),
        "worker_max_rss_mb": max(v[0] for v in by_pid.values()),
        "node_max_rss_mb": max(v[1] for v in by_pid.values()),
    }


def projection(per_worker_eps: float) -> dict[str, Any]:
    """Cores (one Ray worker each) and 16-core nodes for :data:`TARGET` encounters in :data:`NIGHT_S`."""
    cores = math.ceil(TARGET / (per_worker_eps * NIGHT_S))
    return {
        "encounters": TARGET,
        "hours": NIGHT_S / 3600,
        "per_worker_encounters_per_s": round(per_worker_eps, 2),
        "cores": cores,
        "nodes_of_16_cores": math.ceil(cores / NODE_CORES),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encounters", type=int, default=200)
    parser.add_argument("--measure", default="stemi-reperfusion-24h")
    parser.add_argument("--partition", type=int, default=25, help="patients per partition")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL database of its own (emptied); default: SQLite files",
    )
    args = parser.parse_args()
    runs = [
        await run_once(w, args.encounters, args.measure, args.partition, args.database_url) for w in (1, 2)
    ]
    speedup = runs[1]["encounters_per_s"] / runs[0]["encounters_per_s"]
    result = {
        "benchmark": "population",
        "measure": args.measure,
        "database": "postgresql" if args.database_url else "sqlite",
        "cores": os.cpu_count(),
        "runs": runs,
        "speedup_2_workers": round(speedup, 2),
        "projection_1e6_in_8h": projection(runs[0]["encounters_per_s"]),
        "projection_1e6_in_8h_at_2_worker_rate": projection(runs[1]["encounters_per_s"] / 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
