"""Asyncio client of one Node CQL worker process (``measures/cql/worker.js``): JSON lines, request ids.

The process starts lazily on the first request, is restarted when it dies, and every request has a
timeout (a request past it kills the process, so a runaway evaluation cannot hold it). Many patients
go in one ``calculate`` request: never a process per patient. :class:`measures.engine.CqlEngine`
runs a pool of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

from measures.engine.errors import CqlCalculationError, CqlError, CqlTimeoutError, CqlWorkerError

CQL_DIR = Path(__file__).resolve().parent.parent / "cql"
WORKER_JS = CQL_DIR / "worker.js"
_STREAM_LIMIT = 1 << 30  # one response line may carry a whole population's results


class CqlWorker:
    """One long-lived ``node worker.js`` process; ``request`` is safe to call concurrently."""

    def __init__(self, *, node: str, timeout_s: float) -> None:
        self._node = node
        self.timeout_s = timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._start_lock: asyncio.Lock | None = None
        self._prepared: set[str] = set()
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    def has_prepared(self, key: str) -> bool:
        """Whether the running process holds the measure bundle prepared under ``key``."""
        return key in self._prepared

    def mark_prepared(self, key: str) -> None:
        self._prepared.add(key)

    async def start(self) -> None:
        """Start the process now if it is not running (requests do it themselves)."""
        await self._ensure_started()

    async def request(self, op: str, payload: dict[str, Any], *, timeout_s: float | None = None) -> Any:
        """Send one request and return its ``result``; raise :class:`CqlError` on failure or timeout.

        Every op is idempotent, so a request that finds the process dead is sent once more to a
        fresh process.
        """
        try:
            return await self._request_once(op, payload, timeout_s)
        except _WorkerExited:
            await self.close()
            return await self._request_once(op, payload, timeout_s)

    async def _request_once(self, op: str, payload: dict[str, Any], timeout_s: float | None) -> Any:
        proc = await self._ensure_started()
        request_id = str(next(self._ids))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[request_id] = future
        line = json.dumps({"id": request_id, "op": op, **payload}, separators=(",", ":")) + "\n"
        try:
            assert proc.stdin is not None
            proc.stdin.write(line.encode())
            await proc.stdin.drain()
            return await asyncio.wait_for(future, timeout_s or self.timeout_s)
        except TimeoutError as exc:
            # A stuck worker would block every later request: kill it, the next request restarts it.
            await self.close()
            raise CqlTimeoutError(
                f"CQL worker did not answer '{op}' within {timeout_s or self.timeout_s}s"
            ) from exc
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _WorkerExited(f"CQL worker pipe closed during '{op}'") from exc
        finally:
            self._pending.pop(request_id, None)

    async def close(self) -> None:
        """Stop the process (it is started again by the next request)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await proc.wait()
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._reader = None
        self._fail_pending(CqlWorkerError("CQL worker stopped"))

    async def _ensure_started(self) -> asyncio.subprocess.Process:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (e.g. tests): the old pipes are unusable
            self._proc, self._reader, self._loop = None, None, loop
            self._start_lock = asyncio.Lock()
        assert self._start_lock is not None
        async with self._start_lock:
            if self._proc is None or self._proc.returncode is not None:
                await self._spawn()
            assert self._proc is not None
            return self._proc

    async def _spawn(self) -> None:
        if not (CQL_DIR / "node_modules").is_dir():
            raise CqlWorkerError(f"CQL engine not installed: run `npm ci --prefix {CQL_DIR}`")
        self._proc = await asyncio.create_subprocess_exec(
            self._node,
            str(WORKER_JS),
            cwd=str(CQL_DIR),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=_STREAM_LIMIT,
        )
        self.starts += 1
        self._prepared = set()  # a fresh process holds no prepared measure
        self._reader = asyncio.create_task(self._read(self._proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            if not line.startswith(b"{"):
                continue  # not protocol (engine chatter)
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            future = self._pending.get(str(message.get("id")))
            if future is None or future.done():
                continue
            if message.get("ok"):
                future.set_result(message.get("result"))
            else:
                future.set_exception(_error_from(message.get("error") or {}))
        if self._proc is proc:
            self._proc = None
        self._fail_pending(_WorkerExited(f"CQL worker exited (code {proc.returncode})"))

    def _fail_pending(self, error: CqlError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)


class _WorkerExited(CqlWorkerError):
    """The process ended under a request (retried once by :meth:`CqlWorker.request`)."""


def _error_from(detail: dict[str, Any]) -> CqlError:
    kind, code = detail.get("kind"), detail.get("code")
    calculation = kind == "calculate" and code != "unknown-measure"
    cls: type[CqlError] = CqlCalculationError if calculation else CqlWorkerError
    locator = detail.get("locator")
    return cls(
        str(detail.get("message") or "CQL worker error"),
        library=detail.get("library"),
        version=detail.get("version"),
        expression=detail.get("expression"),
        location=str(locator) if locator else None,
        code=str(code) if code else None,
    )
