"""The CQL engine of one MedQC process: a pool of Node worker processes and the ELM cache.

Built once from explicit settings (the app lifespan does it: :meth:`CqlEngine.from_settings`) and
passed to whatever translates or calculates. Each request leases one process for its whole run, so a
long evaluation occupies one process while the others serve everyone else; a request that runs past
the deadline stops only its own process (restarted on the next lease).
"""

from __future__ import annotations

import asyncio
import shutil
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from measures.engine.elm_cache import ElmCache
from measures.engine.errors import CqlBusyError
from measures.engine.worker import CqlWorker

if TYPE_CHECKING:
    from medqc.settings import Settings


class Memo:
    """A small least-recently-used map for what is derived from ELM (parsed libraries, prepared
    measure bundles), keyed by content hashes so a changed input is a miss."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class CqlEngine:
    """``processes`` Node workers (each leased by one request at a time), one :class:`ElmCache`, and a
    :class:`Memo` of what is derived from ELM."""

    def __init__(
        self,
        *,
        node: str | None,
        timeout_s: float,
        elm_cache_dir: Path | str | None,
        processes: int = 2,
    ) -> None:
        if processes < 1:
            raise ValueError("the CQL engine needs at least one worker process")
        if timeout_s <= 0:
            raise ValueError("the CQL timeout must be positive")
        binary = node or shutil.which("node") or "node"
        self.timeout_s = timeout_s
        self.cache = ElmCache(elm_cache_dir)
        self.memo = Memo(256)
        self.workers: tuple[CqlWorker, ...] = tuple(
            CqlWorker(node=binary, timeout_s=timeout_s) for _ in range(processes)
        )
        self._idle: asyncio.Queue[CqlWorker] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CqlEngine:
        """The engine ``settings`` describe (``MEDQC_NODE``, ``MEDQC_CQL_TIMEOUT_S``,
        ``MEDQC_ELM_CACHE_DIR``, ``MEDQC_CQL_WORKERS``)."""
        return cls(
            node=settings.node,
            timeout_s=settings.cql_timeout_s,
            elm_cache_dir=settings.elm_cache_dir,
            processes=settings.cql_workers,
        )

    def _queue(self) -> asyncio.Queue[CqlWorker]:
        loop = asyncio.get_running_loop()
        if self._idle is None or self._loop is not loop:  # a new event loop (tests): a fresh queue
            self._loop = loop
            self._idle = asyncio.Queue()
            for worker in self.workers:
                self._idle.put_nowait(worker)
        return self._idle

    @asynccontextmanager
    async def lease(self, *, timeout_s: float | None = None) -> AsyncIterator[CqlWorker]:
        """One worker process for the caller alone; :class:`CqlBusyError` when none frees up in time."""
        idle = self._queue()
        wait = timeout_s or self.timeout_s
        try:
            worker = await asyncio.wait_for(idle.get(), wait)
        except TimeoutError as exc:
            raise CqlBusyError(f"every CQL worker process stayed busy for {wait}s") from exc
        try:
            yield worker
        finally:
            idle.put_nowait(worker)

    async def close(self) -> None:
        """Stop every process (a later lease starts them again)."""
        for worker in self.workers:
            await worker.close()
