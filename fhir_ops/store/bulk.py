"""Bulk row writes of the store at database speed, inside the caller's transaction.

The ORM's bulk insert drops ``None`` values from each row, so rows of one table stop being uniform and
are sent as thousands of small statements (21,154 search-index rows became 8,951 statements, issue
18). Here every row is a tuple in the table's column order: on SQLite one ``executemany`` per table;
on PostgreSQL one ``COPY`` per table through the session's own asyncpg connection, so the rows are
part of the same transaction (all-or-nothing, locks held) as every other statement of the unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

#: Below this many rows a plain executemany costs less than setting up a COPY.
COPY_MIN_ROWS = 64


class _CopyConnection(Protocol):
    """The part of ``asyncpg.Connection`` used here."""

    def is_in_transaction(self) -> bool: ...

    async def copy_records_to_table(
        self, table_name: str, *, records: Sequence[tuple[Any, ...]], columns: Sequence[str]
    ) -> str: ...


async def insert_rows(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples of ``columns``, every column present in every row) into ``table``."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        raw = await connection.get_raw_connection()
        driver = cast(_CopyConnection, raw.driver_connection)
        if driver.is_in_transaction():  # the unit of work has begun: COPY joins its transaction
            await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
            return
    # Core insert of the Table (not the ORM entity): uniform rows → one executemany
    await connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


async def update_rows(
    session: AsyncSession,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Update the rows whose ``keys`` columns match (each row: the keys' values, then ``columns``'),
    as one executemany."""
    if not rows:
        return
    statement = (
        update(table)
        .where(*(table.c[key] == bindparam(f"k_{key}") for key in keys))
        .values({column: bindparam(f"v_{column}") for column in columns})
    )
    names = [f"k_{key}" for key in keys] + [f"v_{column}" for column in columns]
    connection = await session.connection()
    await connection.execute(statement, [dict(zip(names, row, strict=True)) for row in rows])
