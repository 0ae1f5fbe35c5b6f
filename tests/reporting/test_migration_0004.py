"""Migration 0004_reporting creates exactly the ledger and the shared CDS cache tables of the models, on
SQLite and PostgreSQL, and its downgrade removes them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from cds_services.shared_cache import JtiReplayRow, JwksCacheRow
from measures.reporting.ledger import SubmissionRow
from medqc.db import Base
from medqc.migrate import alembic_config
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.support.live import reset_postgres

TABLES = {SubmissionRow.__tablename__, JtiReplayRow.__tablename__, JwksCacheRow.__tablename__}


def _table_of(diff: object) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    assert isinstance(item, tuple)
    for part in item[1:]:
        if isinstance(part, sa.Table):
            return str(part.name)
        table = getattr(part, "table", None)
        if isinstance(table, sa.Table):
            return str(table.name)
    if len(item) > 2 and isinstance(item[2], str):
        return item[2]
    return None


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_matches_the_models_and_downgrades(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        assert POSTGRES_URL
        reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite'}"

    def check(conn: sa.Connection) -> tuple[list[object], set[str]]:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004_reporting")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in TABLES]
        command.downgrade(cfg, "0003_store_integrity")
        return diffs, set(sa.inspect(conn).get_table_names())

    async def run() -> tuple[list[object], set[str]]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            result = await conn.run_sync(check)
        await engine.dispose()
        return result

    diffs, remaining = asyncio.run(run())
    assert diffs == []
    assert not TABLES & remaining
    assert "fhir_resource" in remaining  # only 0004's tables went
