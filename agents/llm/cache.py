"""Response cache keyed by (model, prompt, schema): an in-memory LRU, optionally backed by a directory."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from agents.llm.types import ChatRequest


def cache_key(model: str, request: ChatRequest) -> str:
    """Stable hash of everything that determines the answer (the prompt version is in the messages)."""
    payload = {
        "model": model,
        "messages": list(request.messages),
        "schema": request.schema,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "seed": request.seed,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """``get``/``put`` JSON-able entries; the disk layer (if any) survives restarts."""

    def __init__(self, max_entries: int = 2048, directory: Path | None = None) -> None:
        self.max_entries = max_entries
        self.directory = directory
        self._memory: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.json"

    async def get(self, key: str) -> dict[str, Any] | None:
        entry = self._memory.get(key)
        if entry is None and self.directory is not None:
            entry = await asyncio.to_thread(self._read, key)
            if entry is not None:
                self._remember(key, entry)
        if entry is None:
            self.misses += 1
            return None
        self._memory.move_to_end(key)
        self.hits += 1
        return entry

    async def put(self, key: str, entry: dict[str, Any]) -> None:
        self._remember(key, entry)
        if self.directory is not None:
            await asyncio.to_thread(self._write, key, entry)

    def clear_memory(self) -> None:
        self._memory.clear()

    def __len__(self) -> int:
        return len(self._memory)

    def _remember(self, key: str, entry: dict[str, Any]) -> None:
        self._memory[key] = entry
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_entries:
            self._memory.popitem(last=False)

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write(self, key: str, entry: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
