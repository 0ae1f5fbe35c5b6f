"""Database plumbing: the declarative base, the async engine and session factory (built lazily)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of every MedQC table. Schema changes go through Alembic migrations only."""


class Database:
    """The engine and session factory of one process (created in the app lifespan or the CLI)."""

    def __init__(self, url: str, *, statement_timeout_s: float = 30.0) -> None:
        """``statement_timeout_s`` bounds every PostgreSQL statement (a query past it is cancelled by the
        server and answered 503); SQLite runs in-process and has no such knob."""
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and not self.in_memory(url):
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, object] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
            if parsed.get_backend_name() == "postgresql":
                # asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic
                # plan that ignores the values, and a search is only fast when planned from them (a
                # patient's 200 rows, not a common code's 10,000: 6 ms vs 260 ms at 200,000 resources)
                server_settings = {"plan_cache_mode": "force_custom_plan"}
                if statement_timeout_s > 0:
                    server_settings["statement_timeout"] = str(int(statement_timeout_s * 1000))
                kwargs["connect_args"] = {"server_settings": server_settings}
        self.engine: AsyncEngine = create_async_engine(
            url, json_serializer=_json_dumps, json_deserializer=orjson.loads, **kwargs
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer per file and makes the others poll its lock (sleeps of up to 100 ms, no
        # order): this process's writers queue here instead, first come first served
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @staticmethod
    def in_memory(url: str) -> bool:
        """An SQLite database that lives in one process's memory (no other process can share it)."""
        parsed = make_url(url)
        return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncSession]:
        """A session for work that writes (the caller begins or commits): on SQLite it holds the
        process's write turn for its whole life. Do not open another writer inside it."""
        if self._write_lock is None:
            async with self.sessions() as session:
                yield session
            return
        async with self._write_lock, self.sessions() as session:
            yield session

    async def probe(self, *, timeout_s: float = 0.5) -> None:
        """Raise unless the database answers and, on SQLite, takes a write lock within ``timeout_s`` (a
        locked SQLite file answers reads but would stall every write: not ready)."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                await conn.exec_driver_sql("SELECT 1")
                return
            await conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            try:
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
                await conn.exec_driver_sql("ROLLBACK")
            finally:
                await conn.exec_driver_sql("PRAGMA busy_timeout = 30000")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _json_dumps(value: object) -> str:
    """JSON columns (audit inputs, outputs) in orjson's time, a fifth of the standard library's; what it
    cannot encode (integers beyond 64 bits) goes through ``json``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
