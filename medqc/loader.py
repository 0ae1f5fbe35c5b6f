"""``medqc load``: FHIR Bundles and resources from files (``.json``/``.ndjson``) or folders into a store.

Entries that a Bundle POSTs under a ``urn:uuid:`` fullUrl are stored under that uuid (a PUT), so loading
the same files twice leaves one copy; references between them are resolved the same way.

Each ``.json`` file is one transaction, and an ``.ndjson`` file one transaction per ``chunk`` lines
(streamed: a bad line fails its chunk and is named in the report); a transaction that fails is reported
and the rest go on. The work is split by cost (issue 18): worker processes read, parse, validate and
index each transaction (:mod:`medqc.load_prepare`, as many as ``workers``), while this process writes
rows. Transactions of plain PUTs are written several files at a time, up to ``chunk`` resources per
database transaction; if such a group fails, its files are written one by one, so a bad file is still
reported alone and the others stored. Memory stays bounded: a few transactions in flight per worker.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from fhir_ops.errors import FhirError
from fhir_ops.store.protocol import Resource
from medqc.load_prepare import Batch, Prepared, prepare_batches

if TYPE_CHECKING:
    from fhir_ops.store.sql_repository import IndexRow, SqlRepository


@dataclass(slots=True)
class LoadReport:
    files: int = 0
    resources: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in {".json", ".ndjson"} and p.is_file())
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(path)


def _batches(files: list[Path], chunk: int) -> Iterator[Batch]:
    """One :class:`Batch` per transaction, in order: each ``.json`` file, each ``chunk`` ndjson lines."""
    for file_no, path in enumerate(files, 1):
        if path.suffix != ".ndjson":
            yield Batch(where=str(path), file_no=file_no, path=str(path))
            continue
        with path.open("rb") as fh:
            lines = (line for line in fh if line.strip())
            first = 1
            batch = tuple(islice(lines, chunk))
            while batch:
                following = tuple(islice(lines, chunk))
                where = f"{path} (resources {first}-{first + len(batch) - 1})"
                yield Batch(where=where, file_no=file_no, lines=batch, ends_file=not following)
                first += len(batch)
                batch = following


def _tasks(batches: Iterator[Batch], task_bytes: int) -> Iterator[list[Batch]]:
    """Batches grouped into a worker's unit of work: small files together, up to ``task_bytes``."""
    task: list[Batch] = []
    size = 0
    for batch in batches:
        task.append(batch)
        size += Path(batch.path).stat().st_size if batch.path else sum(map(len, batch.lines))
        if size >= task_bytes:
            yield task
            task, size = [], 0
    if task:
        yield task


@dataclass(slots=True)
class _Group:
    """Checked transactions waiting to be written together."""

    prepared: list[tuple[Prepared, list[Resource]]] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    rows: list[IndexRow] = field(default_factory=list)

    def add(self, prepared: Prepared) -> None:
        assert prepared.resources is not None
        assert prepared.rows is not None
        resources: list[Resource] = orjson.loads(prepared.resources)
        self.prepared.append((prepared, resources))
        self.resources.extend(resources)
        self.rows.extend(prepared.rows)


class _Loader:
    """Writes what the workers prepared, in input order, and keeps the report."""

    def __init__(
        self, repo: SqlRepository, files: int, chunk: int, progress: Callable[[int, int, int], None] | None
    ) -> None:
        self.repo = repo
        self.chunk = chunk
        self.progress = progress
        self.report = LoadReport(files=files)
        self.group = _Group()
        self.stopped: set[int] = set()  # files whose error ends them
        #: the group being written (one at a time, in order), while the next one is gathered
        self.writing: asyncio.Task[None] | None = None

    async def take(self, prepared: Prepared) -> None:
        batch = prepared.batch
        if batch.file_no in self.stopped:
            return
        if prepared.resources is not None:
            self.group.add(prepared)
            if len(self.group.resources) >= self.chunk:
                await self._write_group()
        else:
            await self.flush()
            if prepared.error is not None:
                self.report.errors.append(prepared.error)
                if prepared.stops_file:
                    self.stopped.add(batch.file_no)
            else:
                await self._transaction(prepared)
            self._done(batch, batch.ends_file or batch.file_no in self.stopped)

    async def flush(self) -> None:
        """Write everything gathered, and wait for it."""
        await self._write_group()
        if self.writing is not None:
            await self.writing
            self.writing = None

    async def _write_group(self) -> None:
        """Start writing the gathered group once the previous one is written."""
        if self.writing is not None:
            await self.writing
            self.writing = None
        group, self.group = self.group, _Group()
        if group.prepared:
            self.writing = asyncio.create_task(self._write(group))

    async def _write(self, group: _Group) -> None:
        """The group in one unit of work; on failure, its transactions one by one."""
        try:
            await self.repo.store_checked(group.resources, group.rows)
        except FhirError as exc:
            if len(group.prepared) == 1:
                self._failed(group.prepared[0][0], exc)
            else:  # which transaction failed: each on its own
                for prepared, resources in group.prepared:
                    try:
                        await self.repo.store_checked(resources, prepared.rows)
                    except FhirError as alone:
                        self._failed(prepared, alone)
                    else:
                        self._stored(resources)
        else:
            self._stored(group.resources)
        last = group.prepared[-1][0].batch
        self._done(last, last.ends_file)

    async def _transaction(self, prepared: Prepared) -> None:
        bundle = prepared.bundle
        assert bundle is not None
        try:
            response = await self.repo.transaction(bundle)
        except FhirError as exc:
            self._failed(prepared, exc)
            return
        self._count([e["resource"] for e in bundle["entry"] if isinstance(e.get("resource"), dict)])
        self.report.resources += len(response.get("entry") or [])

    def _stored(self, resources: list[Resource]) -> None:
        self._count(resources)
        self.report.resources += len(resources)

    def _count(self, resources: list[Resource]) -> None:
        for resource in resources:
            rtype = resource["resourceType"]
            self.report.by_type[rtype] = self.report.by_type.get(rtype, 0) + 1

    def _failed(self, prepared: Prepared, exc: FhirError) -> None:
        self.report.errors.append(f"{prepared.batch.where}: {exc.diagnostics}")

    def _done(self, batch: Batch, ends_file: bool) -> None:
        if self.progress is not None:
            done = batch.file_no if ends_file else batch.file_no - 1
            self.progress(done, self.report.files, self.report.resources)


async def load_paths(
    repo: SqlRepository,
    paths: list[Path],
    *,
    progress: Callable[[int, int, int], None] | None = None,
    chunk: int = 2000,
    workers: int = 0,
    task_bytes: int = 1 << 20,
) -> LoadReport:
    """Load every file (see the module docstring for the transactions and the workers); a transaction
    that fails is reported and the rest go on. ``workers`` 0 prepares in this process.
    ``progress(files_done, files, resources_stored)`` is called after each write."""
    files = list(iter_files(paths))
    loader = _Loader(repo, len(files), chunk, progress)
    tasks = _tasks(_batches(files, chunk), task_bytes)
    if workers <= 0:
        for task in tasks:
            for prepared in prepare_batches(task):
                await loader.take(prepared)
    else:
        loop = asyncio.get_running_loop()
        context = get_context("forkserver")  # a fresh process forks the workers: no threads inherited
        context.set_forkserver_preload(["medqc.load_prepare"])
        pending: deque[asyncio.Future[list[Prepared]]] = deque()

        async def take_until(left: int) -> None:
            while len(pending) > left:
                for prepared in await pending.popleft():
                    await loader.take(prepared)

        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for task in tasks:
                pending.append(loop.run_in_executor(pool, prepare_batches, task))
                await take_until(4 * workers)  # a few tasks ahead per worker: bounded memory
            await take_until(0)
    await loader.flush()
    if progress is not None:
        progress(len(files), len(files), loader.report.resources)
    return loader.report
