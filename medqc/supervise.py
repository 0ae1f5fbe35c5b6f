"""A child process that is restarted when it exits, until it is stopped (the Temporal dev server, the
Temporal worker of ``medqc serve``)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)
#: pauses before successive restarts, and between checks while another process does the job
RESTART_S = (1.0, 2.0, 5.0, 10.0, 30.0)
RECHECK_S = 2.0


@dataclass(slots=True)
class SupervisedProcess:
    """``argv`` with its output appended to ``log_file``; restarted with backoff when it exits.

    ``stdin`` is written to the child and the pipe is kept open: a child that watches it for the end of
    file notices when this process is gone, even killed. ``needed`` says whether to (re)spawn (False
    while another process already does the job, e.g. a dev server listening on the port).
    """

    name: str
    argv: Sequence[str]
    log_file: Path
    stdin: bytes | None = None
    nice: int = 0
    needed: Callable[[], bool] = lambda: True
    process: asyncio.subprocess.Process | None = None
    _supervisor: asyncio.Task[None] | None = None
    _stopping: bool = False
    _restarts: int = field(default=0)

    async def spawn(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        nice = shutil.which("nice") if self.nice else None
        argv = [nice, "-n", str(self.nice), *self.argv] if nice else list(self.argv)
        with self.log_file.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *argv,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.PIPE if self.stdin is not None else asyncio.subprocess.DEVNULL,
            )
        if self.stdin is not None and self.process.stdin is not None:
            self.process.stdin.write(self.stdin)
            await self.process.stdin.drain()

    def supervise(self) -> None:
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self._stopping:
            if self.process is not None:
                code = await self.process.wait()
                if self._stopping:
                    return
                delay = RESTART_S[min(self._restarts, len(RESTART_S) - 1)]
                log.warning(f"{self.name} exited: restarting", extra={"code": code, "in_s": delay})
                self._restarts += 1
                self.process = None
                await asyncio.sleep(delay)
            elif self.needed():
                await self.spawn()
            else:
                await asyncio.sleep(RECHECK_S)

    async def stop(self, *, timeout_s: float = 15.0) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        process = self.process
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
