"""Search plans at hospital scale: at 200,000 resources (~1 M index rows) the searches a patient's record
needs are index lookups on SQLite and PostgreSQL, never a scan of the index or resource table.

The store is filled by bulk SQL (a recursive CTE generating 300 patients' resources), not the REST API,
so the test runs in seconds; the statements are the real ones (``plan_search`` + ``page_query``, the
hook's record statement), compiled for the database and explained.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from fhir_ops.data_access.store_record import RECORD_STATEMENT
from fhir_ops.search.query import page_query, plan_search
from fhir_ops.store.tables import ResourceRow, ResourceVersionRow, SearchIndexRow
from tests.conftest import POSTGRES_URL

RESOURCES = 200_000
PATIENTS = 300
TABLES = [cast(Table, row.__table__) for row in (ResourceRow, ResourceVersionRow, SearchIndexRow)]

# i % 10: 0-4 Observation, 5-6 Encounter, 7 Condition, 8 Procedure, 9 DocumentReference; resource i of a
# clinical type belongs to the encounter r<i - i % 10 + 5>, and every resource to patient p<i % 300>.
_SERIES = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {RESOURCES})"
_TYPE = (
    "CASE WHEN i % 10 < 5 THEN 'Observation' WHEN i % 10 < 7 THEN 'Encounter' WHEN i % 10 = 7 THEN "
    "'Condition' WHEN i % 10 = 8 THEN 'Procedure' ELSE 'DocumentReference' END"
)
_INDEX = "INSERT INTO fhir_search_index (resource_type, resource_id, param, system, value, lo, hi) "
FILL = [
    f"INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, deleted, content) {_SERIES} "
    f"SELECT {_TYPE}, 'r' || i, 1, CURRENT_TIMESTAMP, false, '{{\"id\": \"r' || i || '\"}}' FROM n",
    "INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, deleted, content) "
    f"{_SERIES} SELECT 'Patient', 'p' || i, 1, CURRENT_TIMESTAMP, false, '{{}}' FROM n WHERE i <= {PATIENTS}",
    f"{_INDEX}{_SERIES} SELECT {_TYPE}, 'r' || i, 'patient', 'Patient', 'p' || (i % {PATIENTS}), NULL, NULL FROM n",
    f"{_INDEX}{_SERIES} SELECT {_TYPE}, 'r' || i, 'subject', 'Patient', 'p' || (i % {PATIENTS}), NULL, NULL FROM n",
    f"{_INDEX}{_SERIES} SELECT {_TYPE}, 'r' || i, 'date', NULL, NULL, i * 3600.0, i * 3600.0 + 60 FROM n",
    f"{_INDEX}{_SERIES} SELECT {_TYPE}, 'r' || i, 'code', 'http://loinc.org', 'c' || (i % 40), NULL, NULL "
    "FROM n WHERE i % 10 NOT IN (5, 6)",
    f"{_INDEX}{_SERIES} SELECT {_TYPE}, 'r' || i, 'encounter', 'Encounter', 'r' || (i - i % 10 + 5), NULL, NULL "
    "FROM n WHERE i % 10 NOT IN (5, 6)",
]

SEARCHES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "patient": ("Observation", [("patient", "p7")]),
    "patient+code": ("Observation", [("patient", "p7"), ("code", "http://loinc.org|c7")]),
    "patient+sort": ("Encounter", [("patient", "Patient/p7"), ("_sort", "-date")]),
    "patients (IN list)": ("Observation", [("patient", "p1,p2,p3")]),
}


async def _fill(conn: AsyncConnection) -> None:
    def create(sync: Any) -> None:
        for table in TABLES:
            table.create(sync)  # the model's indexes, created after the rows (faster)
            for index in table.indexes:
                index.drop(sync)

    def index(sync: Any) -> None:
        for table in TABLES:
            for idx in table.indexes:
                idx.create(sync)

    await conn.run_sync(create)
    for statement in FILL:
        await conn.execute(text(statement))
    await conn.run_sync(index)
    await conn.execute(text("ANALYZE") if conn.dialect.name == "postgresql" else text("SELECT 1"))


def _sql(engine: AsyncEngine, statement: Any, **binds: str) -> str:
    compiled = statement.params(**binds) if binds else statement
    return str(compiled.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


def _statements(engine: AsyncEngine) -> dict[str, str]:
    out = {
        name: _sql(
            engine, page_query(plan_search(rtype, params, strict=True, default_count=50, max_count=1000))
        )
        for name, (rtype, params) in SEARCHES.items()
    }
    out["encounter record"] = _sql(engine, RECORD_STATEMENT, encounter_id="r15")
    return out


class Store:
    """A filled store: ``explain(sql)`` returns the plan's lines."""

    def __init__(self, engine: AsyncEngine, schema: str | None) -> None:
        self.engine, self.schema = engine, schema

    async def _connect(self, conn: AsyncConnection) -> None:
        if self.schema:
            await conn.execute(text(f"SET search_path TO {self.schema}"))

    def explain(self, sql: str) -> list[str]:
        async def run() -> list[str]:
            async with self.engine.connect() as conn:
                await self._connect(conn)
                if self.engine.dialect.name == "postgresql":
                    return [str(r[0]) for r in await conn.execute(text(f"EXPLAIN {sql}"))]
                return [str(r[3]) for r in await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]

        return asyncio.run(run())


def _open(url: str, schema: str | None) -> Store:
    engine = create_async_engine(url, poolclass=NullPool)  # each asyncio.run has its own loop
    store = Store(engine, schema)

    async def run() -> None:
        async with engine.begin() as conn:
            if schema:
                await conn.execute(text(f"CREATE SCHEMA {schema}"))
            await store._connect(conn)
            await _fill(conn)

    asyncio.run(run())
    return store


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = Path(tmp_path_factory.mktemp("plans")) / "plans.sqlite"
    store = _open(f"sqlite+aiosqlite:///{path}", None)
    yield store
    asyncio.run(store.engine.dispose())


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[Store]:
    if not POSTGRES_URL:
        pytest.skip("MEDQC_TEST_POSTGRES_URL not set (.ci/postgres.sh start)")
    schema = f"plans_{uuid.uuid4().hex[:12]}"  # a schema of its own: other tests keep the public one
    store = _open(POSTGRES_URL, schema)
    yield store

    async def drop() -> None:
        async with store.engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await store.engine.dispose()

    asyncio.run(drop())


NAMES = [*SEARCHES, "encounter record"]


@pytest.mark.parametrize("name", NAMES)
def test_sqlite_plans_search_no_table(sqlite_store: Store, name: str) -> None:
    plan = sqlite_store.explain(_statements(sqlite_store.engine)[name])
    scans = [line for line in plan if re.match(r"SCAN (fhir_search_index|fhir_resource)\b", line)]
    assert not scans, "\n".join(plan)
    assert any("USING" in line and "INDEX" in line for line in plan), "\n".join(plan)


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_postgres_plans_use_the_indexes(postgres_store: Store, name: str) -> None:
    plan = postgres_store.explain(_statements(postgres_store.engine)[name])
    scans = [line for line in plan if re.search(r"Seq Scan on (fhir_search_index|fhir_resource)\b", line)]
    assert not scans, "\n".join(plan)
    assert any("Index" in line for line in plan), "\n".join(plan)
