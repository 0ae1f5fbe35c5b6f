"""Bulk row writes of the store at database speed, inside the caller's transaction.

The ORM's bulk insert drops ``None`` values from each row, so rows of one table stop being uniform and
are sent as thousands of small statements (21,154 search-index rows became 8,951 statements, issue
18). Here every row is a tuple in the table's column order: on SQLite one ``executemany`` per table;
on PostgreSQL one ``COPY`` per table through the session's own asyncpg connection, so the rows are
part of the same transaction (all-or-nothing, locks held) as every other statement of the unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Dialect, Float, Table, bindparam, insert, update
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
    if connection.dialect.name == "sqlite":  # the driver's executemany, values bound as Core binds them
        sql, processors = _driver_insert(connection.dialect, table, tuple(columns))
        await connection.exec_driver_sql(sql, _bound(rows, processors))
        return
    # Core insert of the Table (not the ORM entity): uniform rows → one executemany
    await connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _bound(
    rows: Sequence[tuple[Any, ...]], processors: tuple[Callable[[Any], Any] | None, ...]
) -> list[tuple[Any, ...]]:
    """``rows`` with each column's bind processor applied (only the columns that have one)."""
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not active:
        return list(rows)
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for i, process in active:
            values[i] = process(values[i])
        out.append(tuple(values))
    return out


@lru_cache(maxsize=32)
def _driver_insert(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The dialect's INSERT of ``columns`` (positional parameters in that order) and each column's bind
    processor (how Core converts a value for the driver: datetimes and booleans on SQLite). Numbers go as
    they are: the store's rows hold floats or None, which the driver takes (Float's processor only turns
    Decimals into floats, and cost a third of a bulk insert's Python time)."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    if compiled.positiontup != list(columns):
        raise ValueError(f"the insert of {table.name} does not bind {columns} in order")
    processors = tuple(
        None
        if isinstance(table.c[c].type, Float)
        else table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        for c in columns
    )
    return compiled.string, processors


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
