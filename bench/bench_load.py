"""Bulk load: ``medqc load``'s rate against the bare table's rate, measured in the same run.

For each backend (SQLite, and PostgreSQL when a URL is given) and each size, a dataset of fresh patients
(:mod:`bench.datasets`, one transaction Bundle file per patient like a Synthea export) is loaded into an
empty store by the loader ``medqc load`` runs (:func:`medqc.loader.load_paths`, with its worker processes:
``--workers``, default ``MEDQC_LOAD_WORKERS``, one per CPU). Then the same resources
go into bare tables with no index: their rows only (``type, id, version, lastUpdated, deleted,
content``: ``executemany`` on SQLite, ``COPY`` on PostgreSQL) — the *bare rate* — and every row the
store writes (current, version and search-index rows) — the *bare all-rows rate* — and, the fair
comparison for a loader, the same files parsed and their resource rows inserted — the *bare loader rate*
(the rows above are prepared before the clock starts). Reports resources/s,
the ratios and the on-disk size of the store against the bare table. Writes ``bench/results/load.json``.

    python bench/bench_load.py [--sizes 3000,50000] [--database-url postgresql+asyncpg://…/db] [--workers N]

The PostgreSQL database (``--database-url``, else ``MEDQC_TEST_POSTGRES_URL``) is emptied: give it one of
its own (``createdb``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import the repository's packages
    sys.path.insert(0, str(ROOT))

from bench.datasets import transaction_bundles  # noqa: E402
from fhir_ops.search.indexer import index_resource  # noqa: E402
from fhir_ops.store.database import Database  # noqa: E402
from fhir_ops.store.sql_repository import SqlRepository  # noqa: E402
from medqc.loader import load_paths  # noqa: E402
from medqc.migrate import upgrade_to_head  # noqa: E402
from medqc.settings import Settings  # noqa: E402

Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _write_dataset(folder: Path, n: int, seed: int) -> tuple[int, Rows]:
    """Bundle files of ``n`` resources; the bare rows of those resources (resource rows, index rows)."""
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    index: list[tuple[Any, ...]] = []
    files = 0
    for files, bundle in enumerate(transaction_bundles(n, seed=seed), 1):
        (folder / f"patient-{files:05d}.json").write_bytes(orjson.dumps(bundle))
        for entry in bundle["entry"]:
            resource = entry["resource"]
            rtype, rid = resource["resourceType"], resource["id"]
            rows.append((rtype, rid, 1, now, False, orjson.dumps(resource).decode()))
            index.extend(
                (rtype, rid, e.param, e.system, e.value, e.lo, e.hi) for e in index_resource(resource)
            )
    return files, (rows, index)


_BARE_SQLITE = [
    "CREATE TABLE bare (resource_type TEXT, id TEXT, version_id INT, last_updated TEXT, deleted INT,"
    " content TEXT, PRIMARY KEY (resource_type, id))",
    "CREATE TABLE bare_version (resource_type TEXT, id TEXT, version_id INT, last_updated TEXT,"
    " deleted INT, content TEXT)",
    "CREATE TABLE bare_index (resource_type TEXT, resource_id TEXT, param TEXT, system TEXT, value TEXT,"
    " lo REAL, hi REAL)",
]


def _rows_of_files(data: Path) -> list[tuple[Any, ...]]:
    """What a bare loader does with the same files: parse each Bundle, one row per resource."""
    now = datetime.now(UTC)
    out = []
    for path in sorted(data.glob("*.json")):
        for entry in orjson.loads(path.read_bytes())["entry"]:
            resource = entry["resource"]
            out.append(
                (resource["resourceType"], resource["id"], 1, now, False, orjson.dumps(resource).decode())
            )
    return out


def _bare_sqlite(folder: Path, rows: Rows) -> dict[str, float]:
    path = folder / "bare.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for statement in _BARE_SQLITE:
        con.execute(statement)
    resources = [(*r[:3], r[3].isoformat(), *r[4:]) for r in rows[0]]
    started = time.perf_counter()
    with con:
        con.executemany("INSERT INTO bare VALUES (?,?,?,?,?,?)", resources)
    bare_s = time.perf_counter() - started
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    con.execute("DELETE FROM bare")
    con.commit()
    started = time.perf_counter()
    with con:
        parsed = [(*r[:3], r[3].isoformat(), *r[4:]) for r in _rows_of_files(folder / "data")]
        con.executemany("INSERT INTO bare VALUES (?,?,?,?,?,?)", parsed)
    loader_s = time.perf_counter() - started
    started = time.perf_counter()
    with con:
        con.execute("DELETE FROM bare")
        con.executemany("INSERT INTO bare VALUES (?,?,?,?,?,?)", resources)
        con.executemany("INSERT INTO bare_version VALUES (?,?,?,?,?,?)", resources)
        con.executemany("INSERT INTO bare_index VALUES (?,?,?,?,?,?,?)", rows[1])
    all_s = time.perf_counter() - started
    con.close()
    return {"bare_s": bare_s, "bare_all_rows_s": all_s, "bare_loader_s": loader_s, "bare_bytes": size}


async def _bare_postgres(url: str, rows: Rows, data: Path) -> dict[str, float]:
    import asyncpg  # the driver SQLAlchemy uses for postgresql+asyncpg

    con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await con.execute("DROP SCHEMA IF EXISTS bare CASCADE; CREATE SCHEMA bare")
        await con.execute(
            "CREATE TABLE bare.bare (resource_type varchar(64), id varchar(64), version_id int,"
            " last_updated timestamptz, deleted bool, content text, PRIMARY KEY (resource_type, id));"
            "CREATE TABLE bare.bare_version (LIKE bare.bare);"
            "CREATE TABLE bare.bare_index (resource_type varchar(64), resource_id varchar(64),"
            " param varchar(64), system varchar(512), value varchar(512), lo float8, hi float8)"
        )
        started = time.perf_counter()
        async with con.transaction():
            await con.copy_records_to_table("bare", schema_name="bare", records=rows[0])
        bare_s = time.perf_counter() - started
        size = await con.fetchval("SELECT pg_total_relation_size('bare.bare')")
        await con.execute("TRUNCATE bare.bare")
        started = time.perf_counter()
        async with con.transaction():
            await con.copy_records_to_table("bare", schema_name="bare", records=_rows_of_files(data))
        loader_s = time.perf_counter() - started
        await con.execute("TRUNCATE bare.bare")
        started = time.perf_counter()
        async with con.transaction():
            await con.copy_records_to_table("bare", schema_name="bare", records=rows[0])
            await con.copy_records_to_table("bare_version", schema_name="bare", records=rows[0])
            await con.copy_records_to_table("bare_index", schema_name="bare", records=rows[1])
        all_s = time.perf_counter() - started
        await con.execute("DROP SCHEMA bare CASCADE")
    finally:
        await con.close()
    return {"bare_s": bare_s, "bare_all_rows_s": all_s, "bare_loader_s": loader_s, "bare_bytes": size}


async def _empty_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _store_bytes(db: Database, folder: Path) -> int:
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return (folder / "store.sqlite").stat().st_size
        value = await conn.scalar(
            text(
                "SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['fhir_resource',"
                " 'fhir_resource_version', 'fhir_search_index']::regclass[]) AS t"
            )
        )
        return int(value or 0)


async def _load(url: str, data: Path, folder: Path, workers: int) -> tuple[float, int, int, list[str]]:
    db = Database(url)
    try:
        await upgrade_to_head(db.engine)
        repo = SqlRepository(db)
        started = time.perf_counter()
        report = await load_paths(repo, [data], workers=workers)
        seconds = time.perf_counter() - started
        return seconds, report.resources, await _store_bytes(db, folder), report.errors[:3]
    finally:
        await db.dispose()


async def one(backend: str, url: str, n: int, seed: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "data"
        data.mkdir()
        files, rows = _write_dataset(data, n, seed)
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{folder / 'store.sqlite'}"
        else:
            await _empty_postgres(url)
        load_s, loaded, store_bytes, errors = await _load(url, data, folder, workers)
        bare = _bare_sqlite(folder, rows) if backend == "sqlite" else await _bare_postgres(url, rows, data)
    rate = loaded / load_s
    bare_rate = n / bare["bare_s"]
    all_rate = n / bare["bare_all_rows_s"]
    loader_rate = n / bare["bare_loader_s"]
    return {
        "backend": backend,
        "resources": n,
        "files": files,
        "loaded": loaded,
        "load_workers": workers,
        "errors": errors,
        "load_s": round(load_s, 2),
        "resources_per_s": round(rate),
        "bare_resources_per_s": round(bare_rate),
        "bare_all_rows_resources_per_s": round(all_rate),
        "bare_loader_resources_per_s": round(loader_rate),
        "index_rows": len(rows[1]),
        "ratio_to_bare": round(rate / bare_rate, 3),
        "ratio_to_bare_all_rows": round(rate / all_rate, 3),
        "ratio_to_bare_loader": round(rate / loader_rate, 3),
        "store_mb": round(store_bytes / 1e6, 1),
        "bare_mb": round(bare["bare_bytes"] / 1e6, 1),
        "size_vs_bare": round(store_bytes / bare["bare_bytes"], 2),
    }


async def run(sizes: list[int], postgres_url: str | None, seed: int, workers: int) -> dict[str, Any]:
    runs = []
    for backend in ["sqlite", "postgres"] if postgres_url else ["sqlite"]:
        for n in sizes:
            result = await one(backend, postgres_url or "", n, seed, workers)
            print(json.dumps(result), file=sys.stderr)
            runs.append(result)
    return {"benchmark": "load", "target_ratio_to_bare": 0.25, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="3000,50000", help="dataset sizes (resources), comma-separated")
    parser.add_argument("--database-url", default=os.environ.get("MEDQC_TEST_POSTGRES_URL"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workers",
        type=int,
        default=Settings().load_workers,
        help="the loader's worker processes (default: what `medqc load` uses, MEDQC_LOAD_WORKERS)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    result = asyncio.run(run(sizes, args.database_url, args.seed, args.workers))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
