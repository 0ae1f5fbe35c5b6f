"""The supervisor of ``medqc serve``'s children (the Temporal worker, the dev server): a child that exits
is restarted, stopping ends it, and ``medqc worker`` refuses to start without a Temporal address."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medqc import supervise
from medqc.supervise import SupervisedProcess


async def test_a_child_that_exits_is_restarted_and_stop_ends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervise, "RESTART_S", (0.05,))
    runs = tmp_path / "runs"
    child = SupervisedProcess(
        "counter",
        [sys.executable, "-c", f"open({str(runs)!r}, 'a').write('x')"],
        tmp_path / "child.log",
    )
    child.supervise()
    for _ in range(200):
        if runs.exists() and len(runs.read_text()) >= 3:
            break
        await asyncio.sleep(0.05)
    await child.stop()
    assert len(runs.read_text()) >= 3  # started, exited, started again …


async def test_the_child_reads_its_stdin_and_ends_when_stopped(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    script = f"import sys; open({str(seen)!r}, 'w').write(sys.stdin.readline()); sys.stdin.read()"
    child = SupervisedProcess("reader", [sys.executable, "-c", script], tmp_path / "c.log", stdin=b"hello\n")
    child.supervise()
    for _ in range(200):
        if seen.exists() and seen.read_text():
            break
        await asyncio.sleep(0.05)
    assert seen.read_text() == "hello\n"
    process = child.process
    await child.stop()
    assert process is not None
    assert process.returncode is not None  # the child ended with its pipe


def test_medqc_worker_needs_a_temporal_address() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDQC_")}
    command = [sys.executable, "-m", "medqc", "worker"]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "MEDQC_TEMPORAL_ADDRESS" in done.stderr
