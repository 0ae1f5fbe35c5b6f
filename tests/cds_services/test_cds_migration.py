"""The Alembic migration 0002_cds creates exactly the tables of cds_services.tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations

from cds_services.tables import CdsCardRow, CdsFeedbackRow
from medqc.db import Base

MIGRATION = Path(__file__).resolve().parents[2] / "medqc" / "migrations" / "versions" / "0002_cds.py"
TABLES = {CdsCardRow.__tablename__, CdsFeedbackRow.__tablename__}


def test_migration_matches_the_models() -> None:
    spec = importlib.util.spec_from_file_location("migration_0002_cds", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.down_revision == "0001_initial"
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        with Operations.context(context):
            module.upgrade()
        diffs = [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in TABLES]
        assert diffs == []
        with Operations.context(context):
            module.downgrade()
        assert not TABLES & set(sa.inspect(conn).get_table_names())


def _table_of(diff: object) -> str | None:
    """The table a compare_metadata diff is about (diffs are tuples, or lists of tuples for columns)."""
    item = diff[0] if isinstance(diff, list) else diff
    assert isinstance(item, tuple)
    for part in item[1:]:
        if isinstance(part, sa.Table):
            return str(part.name)
        table = getattr(part, "table", None)
        if isinstance(table, sa.Table):
            return str(table.name)
    if len(item) > 2 and isinstance(item[2], str):  # ("modify_type", schema, table, column, ...)
        return item[2]
    return None
