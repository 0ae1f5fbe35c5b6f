"""A real MedQC server on a free loopback port, in a background thread (for over-HTTP tests)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from medqc.app import create_app
from medqc.demo import free_port
from medqc.settings import Settings


def reset_postgres(url: str) -> None:
    """Drop and recreate the public schema (each test session starts from an empty database)."""

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(run())


@contextmanager
def live_server(settings: Settings, port: int | None = None) -> Iterator[str]:
    """Run MedQC with ``settings`` until the block ends; yields the base URL."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"base_url": base})
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("MedQC test server did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
