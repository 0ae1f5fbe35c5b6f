"""``medqc load``: streamed ndjson in chunked transactions, errors named, the fast ``python -m medqc load``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from bench.datasets import resources
from fhir_ops.store.database import Database
from fhir_ops.store.sql_repository import SqlRepository
from medqc.loader import load_paths
from medqc.migrate import upgrade_to_head

ROOT = Path(__file__).resolve().parents[2]


async def test_ndjson_chunks_load_and_a_bad_chunk_is_named(tmp_path: Path) -> None:
    lines = [orjson.dumps(r) for r in resources(250, seed=5)]
    bad = orjson.loads(lines[120])
    bad["birthDate" if bad["resourceType"] == "Patient" else "status"] = "not-a-value-of-this-element"
    lines[120] = orjson.dumps(bad)
    (tmp_path / "data.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 's.sqlite'}")
    try:
        await upgrade_to_head(db.engine)
        repo = SqlRepository(db)
        seen: list[int] = []
        report = await load_paths(
            repo, [tmp_path / "data.ndjson"], chunk=100, progress=lambda _d, _t, stored: seen.append(stored)
        )
        assert report.resources == 150  # chunks 1-100 and 201-250; 101-200 failed as a whole
        assert len(report.errors) == 1
        assert "resources 101-200" in report.errors[0]
        assert seen[-1] == 150
        first = orjson.loads(lines[0])
        assert (await repo.read(first["resourceType"], first["id"]))["id"] == first["id"]
        assert (await repo.search(bad["resourceType"], [("_id", bad["id"])])).total == 0
    finally:
        await db.dispose()


def test_python_m_medqc_load(tmp_path: Path) -> None:
    data = tmp_path / "one.ndjson"
    data.write_bytes(b"\n".join(orjson.dumps(r) for r in resources(30, seed=2)))
    env = {**os.environ, "MEDQC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 's.sqlite'}"}
    proc = subprocess.run(
        [sys.executable, "-m", "medqc", "load", str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "loaded 30 resources from 1 file(s)" in proc.stdout
