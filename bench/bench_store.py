"""Embedded store: one patient's searches at 3,000 and at 200,000 resources, on SQLite and PostgreSQL.

For each database and size, a fresh store is migrated and filled with ``bench.datasets.resources(n)``
(fresh ids from the shipped Synthea records; the first patient is the same record at every size). The rows
(resource, version, index entries from the real indexer) are bulk-inserted directly — this benchmark
measures search, not loading. Then the store's real search path (``SqlRepository.search``) is timed for
that patient: ``Observation?patient``, ``Observation?patient&code``, ``Encounter?patient&_sort=-date``
and ``DocumentReference?patient``. The ratio of the p50s (largest / smallest size) is the figure: the
goal is ≤ 1.5 (a search's cost follows its matches, not the store). The stores stay open and are searched
in interleaved rounds, so a disturbance of the machine falls on both sizes alike. PostgreSQL runs when a
URL is given (``--postgres-url`` or ``MEDQC_BENCH_POSTGRES_URL``): one database per size, named after the
URL's with ``_store_<size>`` (created when missing, its public schema dropped and recreated).
Writes ``bench/results/store.json``.

    python bench/bench_store.py [--sizes 3000 200000] [--repeat 100] [--postgres-url URL]
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
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.datasets import resources  # noqa: E402
from fhir_ops.search.indexer import index_resource  # noqa: E402
from fhir_ops.store.database import Database  # noqa: E402
from fhir_ops.store.sql_repository import SqlRepository  # noqa: E402
from fhir_ops.store.tables import ResourceRow, ResourceVersionRow, SearchIndexRow  # noqa: E402
from medqc.migrate import upgrade_to_head  # noqa: E402
from medqc.tables import import_all_tables  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "store.json"
CHUNK = 5_000
GOAL_RATIO = 1.5


def _rows(dataset: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The resource rows and the index rows the store's write path would write for ``dataset``."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    rows: list[dict[str, Any]] = []
    index: list[dict[str, Any]] = []
    for resource in dataset:
        stored = {**resource, "meta": {"versionId": "1", "lastUpdated": stamp}}
        rtype, rid = stored["resourceType"], stored["id"]
        rows.append(
            {
                "resource_type": rtype,
                "id": rid,
                "version_id": 1,
                "last_updated": now,
                "deleted": False,
                "content": orjson.dumps(stored).decode(),
            }
        )
        index.extend(
            {
                "resource_type": rtype,
                "resource_id": rid,
                "param": e.param,
                "system": e.system,
                "value": e.value,
                "lo": e.lo,
                "hi": e.hi,
            }
            for e in index_resource(stored)
        )
    return rows, index


async def bulk_fill(engine: AsyncEngine, dataset: list[dict[str, Any]]) -> None:
    """Insert ``dataset`` as stored resources with their index rows (a fresh, migrated store), then
    ANALYZE on PostgreSQL (what autovacuum does after a bulk load; SQLite is left as MedQC runs it)."""
    rows, index = _rows(dataset)
    async with engine.begin() as conn:
        for table, data in ((ResourceRow, rows), (ResourceVersionRow, rows), (SearchIndexRow, index)):
            for start in range(0, len(data), CHUNK):
                await conn.execute(insert(table), data[start : start + CHUNK])
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("ANALYZE"))


def _queries(probe: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """The timed searches, for the patient with the most Observations among the ``probe`` resources (the
    smallest dataset, a prefix of every larger one: the same record at every size)."""
    per_patient: Counter[str] = Counter()
    codes: dict[str, Counter[str]] = {}
    for r in probe:
        if r["resourceType"] == "Observation":
            ref = str((r.get("subject") or {}).get("reference"))
            coding = ((r.get("code") or {}).get("coding") or [{}])[0]
            per_patient[ref] += 1
            codes.setdefault(ref, Counter())[f"{coding.get('system')}|{coding.get('code')}"] += 1
    ref = per_patient.most_common(1)[0][0]
    patient = ref.removeprefix("Patient/")
    code = codes[ref].most_common(1)[0][0]
    return {
        "patient": [("patient", patient)],
        "patient+code": [("patient", patient), ("code", code)],
        "patient+sort": [("patient", patient), ("_sort", "-date")],
        "documents": [("patient", patient), ("_count", "100")],
    }


_TYPES = {
    "patient": "Observation",
    "patient+code": "Observation",
    "patient+sort": "Encounter",
    "documents": "DocumentReference",
}


async def _time(repos: dict[int, SqlRepository], queries: dict[str, Any], rounds: int) -> dict[int, Any]:
    """p50 of each search on each store, the stores interleaved round by round (a disturbance of the
    machine falls on every size alike, not on the size being measured at that moment)."""
    samples: dict[int, dict[str, list[float]]] = {size: {name: [] for name in queries} for size in repos}
    matches: dict[int, dict[str, int]] = {size: {} for size in repos}
    for size, repo in repos.items():  # warm-up
        for name, params in queries.items():
            matches[size][name] = (await repo.search(_TYPES[name], params)).total
    for _ in range(rounds):
        for name, params in queries.items():
            for size, repo in repos.items():
                started = time.perf_counter()
                await repo.search(_TYPES[name], params)
                samples[size][name].append((time.perf_counter() - started) * 1000)
    return {
        size: {
            name: {"p50_ms": round(statistics.median(values), 2), "matches": matches[size][name]}
            for name, values in by_name.items()
        }
        for size, by_name in samples.items()
    }


async def reset_postgres(url: str) -> None:
    """An empty database at ``url`` (created when missing; its public schema dropped and recreated)."""
    target = make_url(url)
    admin = Database(target.set(database="postgres").render_as_string(hide_password=False))
    async with admin.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        query = text("SELECT 1 FROM pg_database WHERE datname = :n")
        if not await conn.scalar(query, {"n": target.database}):
            await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    await admin.dispose()
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await db.dispose()


async def fill(url: str, size: int) -> tuple[Database, float]:
    if url.startswith("postgresql"):
        await reset_postgres(url)
    db = Database(url)
    await upgrade_to_head(db.engine)
    started = time.perf_counter()
    await bulk_fill(db.engine, list(resources(size, seed=0)))
    return db, time.perf_counter() - started


async def one_database(url_for: Callable[[int], str], sizes: list[int], rounds: int) -> dict[str, Any]:
    """Every size in a store of its own (``url_for(size)``), searched interleaved; the ratio of the
    largest to the smallest."""
    filled = {size: await fill(url_for(size), size) for size in sizes}
    try:
        probe = list(resources(min(sizes), seed=0))
        timed = await _time(
            {size: SqlRepository(db) for size, (db, _) in filled.items()}, _queries(probe), rounds
        )
    finally:
        for db, _ in filled.values():
            await db.dispose()
    runs = [
        {"resources": size, "fill_s": round(filled[size][1], 1), "searches": timed[size]} for size in sizes
    ]
    small, large = runs[0]["searches"], runs[-1]["searches"]
    ratios = {k: round(large[k]["p50_ms"] / small[k]["p50_ms"], 2) for k in small}
    return {
        "runs": runs,
        "ratio_largest_vs_smallest": ratios,
        "goal_met": all(ratios[k] <= GOAL_RATIO for k in ("patient", "patient+code", "patient+sort")),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import_all_tables()
    out: dict[str, Any] = {
        "benchmark": "store search p50 for one patient as the store grows",
        "sizes": args.sizes,
        "repeat": args.repeat,
        "goal": f"p50 at the largest size ≤ {GOAL_RATIO}× the smallest (patient, patient+code, patient+sort)",
    }
    with tempfile.TemporaryDirectory(prefix="medqc-bench-store-") as tmp:
        out["sqlite"] = await one_database(
            lambda size: f"sqlite+aiosqlite:///{tmp}/store-{size}.sqlite", args.sizes, args.repeat
        )
    pg_url: str | None = args.postgres_url
    out["postgresql"] = (
        await one_database(
            lambda size: (
                make_url(pg_url)
                .set(database=f"{make_url(pg_url).database}_store_{size}")
                .render_as_string(hide_password=False)
            ),
            args.sizes,
            args.repeat,
        )
        if pg_url
        else "skipped: no --postgres-url / MEDQC_BENCH_POSTGRES_URL"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[3_000, 200_000])
    parser.add_argument("--repeat", type=int, default=100, help="rounds (each size searched once a round)")
    parser.add_argument("--postgres-url", default=os.environ.get("MEDQC_BENCH_POSTGRES_URL"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
