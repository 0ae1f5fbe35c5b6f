"""Migration 0003_store_integrity brings a PostgreSQL store to exactly the models' search-index shape."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from fhir_ops.store.tables import SearchIndexRow
from medqc.db import Base
from medqc.migrate import upgrade_to_head
from medqc.tables import import_all_tables
from tests.conftest import POSTGRES_URL
from tests.support.live import reset_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="MEDQC_TEST_POSTGRES_URL not set"),
]


def test_search_index_is_64_bit_with_long_systems() -> None:
    assert POSTGRES_URL
    reset_postgres(POSTGRES_URL)
    import_all_tables()

    async def run() -> tuple[list[object], dict[str, object]]:
        engine = create_async_engine(POSTGRES_URL)
        await upgrade_to_head(engine)
        async with engine.connect() as conn:

            def inspect(sync: sa.Connection) -> tuple[list[object], dict[str, object]]:
                context = MigrationContext.configure(sync, opts={"compare_type": True})
                diffs = [
                    d
                    for d in compare_metadata(context, Base.metadata)
                    if SearchIndexRow.__tablename__ in repr(d)
                ]
                columns = {c["name"]: c["type"] for c in sa.inspect(sync).get_columns("fhir_search_index")}
                return diffs, columns

            result = await conn.run_sync(inspect)
        await engine.dispose()
        return result

    diffs, columns = asyncio.run(run())
    assert diffs == []
    assert isinstance(columns["pk"], sa.BigInteger)
    assert getattr(columns["system"], "length", None) == 512
