"""``encounter-discharge`` in store mode (the EHR sends no prefetch) on a hospital-sized store (issue 18).

A fresh store (SQLite by default, PostgreSQL with ``--postgres-url``) is filled with
``bench.datasets.resources(n)`` (200,000 by default: fresh ids from the shipped Synthea records) by bulk
insert, then ``medqc serve`` runs on it with CDS client authentication on (as ``bench_cds.py``). The hook
is called with context only (no ``prefetch``, no ``fhirServer``) for the latest encounters of the first
patients, at 1, 8 and 32 concurrent clients, a fresh ES384 JWT per call. Goal: p95 < 300 ms at 8 clients;
at 32, no errors.

The data-gathering share is measured in-process on the same store, for the same encounters: the record
as the hook now reads it (one statement) and as the per-type searches read it (the previous path), p50
and p95 each, one client. Writes ``bench/results/hook-store.json``.

    python bench/bench_hook_store.py [--resources 200000] [--encounters 60] [--requests 200]
        [--concurrency 1 8 32] [--postgres-url URL]
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

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_cds import ISSUER, medqc_server, run  # noqa: E402
from bench.bench_store import bulk_fill, reset_postgres  # noqa: E402
from bench.datasets import resources  # noqa: E402
from conformance.cds_checks import DISCHARGE_SERVICE, ClientKeys  # noqa: E402
from fhir_ops.data_access.embedded import RepositorySource  # noqa: E402
from fhir_ops.data_access.record import EncounterRecord  # noqa: E402
from fhir_ops.data_access.searching import SearchingSource  # noqa: E402
from fhir_ops.store.database import Database  # noqa: E402
from fhir_ops.store.sql_repository import SqlRepository  # noqa: E402
from medqc.migrate import upgrade_to_head  # noqa: E402
from medqc.tables import import_all_tables  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "hook-store.json"


class PerTypeSearches(RepositorySource):
    """The previous path: read the encounter and its patient, then one search per clinical type."""

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        return await SearchingSource.encounter_record(self, encounter_id)


def pick_encounters(
    dataset: list[dict[str, Any]], wanted: int, per_patient: int = 3
) -> list[tuple[str, str]]:
    """``(patient id, encounter id)``: the latest ``per_patient`` encounters of the first patients."""
    by_patient: dict[str, list[dict[str, Any]]] = {}
    for r in dataset:
        if r["resourceType"] == "Encounter":
            ref = str((r.get("subject") or {}).get("reference", ""))
            by_patient.setdefault(ref.removeprefix("Patient/"), []).append(r)
    out: list[tuple[str, str]] = []
    for patient, encounters in by_patient.items():
        encounters.sort(key=lambda e: str((e.get("period") or {}).get("start", "")), reverse=True)
        out += [(patient, str(e["id"])) for e in encounters[:per_patient]]
        if len(out) >= wanted:
            return out[:wanted]
    return out


def _quantiles(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2)}


async def gathering(url: str, encounters: list[tuple[str, str]], rounds: int) -> dict[str, Any]:
    """p50/p95 of reading one record, by the one-statement path and by the per-type searches."""
    db = Database(url)
    repo = SqlRepository(db)
    out: dict[str, Any] = {}
    try:
        for name, source in (
            ("one_statement", RepositorySource(repo)),
            ("per_type_searches", PerTypeSearches(repo)),
        ):
            samples, sizes = [], []
            for _ in range(rounds):
                for _, encounter_id in encounters:
                    started = time.perf_counter()
                    record = await source.encounter_record(encounter_id)
                    samples.append((time.perf_counter() - started) * 1000)
                    sizes.append(len(record.resources()))
            out[name] = {**_quantiles(samples), "resources_per_record_mean": round(statistics.mean(sizes), 1)}
    finally:
        await db.dispose()
    return out


def hook_bodies(encounters: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "hook": "encounter-discharge",
            "hookInstance": "",
            "context": {"userId": "Practitioner/bench", "patientId": patient, "encounterId": encounter},
        }
        for patient, encounter in encounters
    ]


async def hook(
    base: str, bodies: list[dict[str, Any]], keys: ClientKeys, args: argparse.Namespace
) -> list[Any]:
    url = f"{base}/cds-services/{DISCHARGE_SERVICE}"
    most = max(args.concurrency)
    limits = httpx.Limits(max_connections=most, max_keepalive_connections=most)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await run(client, url, bodies, keys, concurrency=1, n=len(bodies))  # warm-up: every record once
        return [
            await run(client, url, bodies, keys, concurrency=c, n=args.requests) for c in args.concurrency
        ]


async def prepare(url: str, size: int) -> list[dict[str, Any]]:
    import_all_tables()
    if url.startswith("postgresql"):
        await reset_postgres(url)
    dataset = list(resources(size, seed=0))
    db = Database(url)
    try:
        await upgrade_to_head(db.engine)
        await bulk_fill(db.engine, dataset)
    finally:
        await db.dispose()
    return dataset


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=200_000)
    parser.add_argument("--encounters", type=int, default=60)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--rounds", type=int, default=3, help="passes over the encounters when timing gathering"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--postgres-url", default=os.environ.get("MEDQC_BENCH_POSTGRES_URL"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    keys = ClientKeys(issuer=ISSUER, es384=ClientKeys.generate(ISSUER, kid_prefix="bench").es384)
    with tempfile.TemporaryDirectory(prefix="medqc-bench-hook-store-") as tmp:
        url = args.postgres_url or f"sqlite+aiosqlite:///{tmp}/store.sqlite"
        started = time.perf_counter()
        dataset = asyncio.run(prepare(url, args.resources))
        fill_s = time.perf_counter() - started
        encounters = pick_encounters(dataset, args.encounters)
        del dataset
        gathered = asyncio.run(gathering(url, encounters, args.rounds))
        with medqc_server(Path(tmp), keys, database_url=url) as base:
            results = asyncio.run(hook(base, hook_bodies(encounters), keys, args))
    by_clients = {r["concurrency"]: r for r in results}
    one = by_clients.get(1)
    report = {
        "benchmark": "cds encounter-discharge in store mode (no prefetch), signed ES384 client JWT per call",
        "database": "postgresql" if args.postgres_url else "sqlite",
        "store_resources": args.resources,
        "fill_s": round(fill_s, 1),
        "encounters": len(encounters),
        "cpus": os.cpu_count(),
        "gathering": gathered,
        "gathering_share_of_call_p50": (
            round(gathered["one_statement"]["p50_ms"] / one["p50_ms"], 3) if one and one["p50_ms"] else None
        ),
        "goal": {"p95_ms_below_at_8": 300, "errors_at_32": 0},
        "results": results,
        "goal_met": bool(
            8 in by_clients and by_clients[8]["p95_ms"] < 300 and all(r["errors"] == 0 for r in results)
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
