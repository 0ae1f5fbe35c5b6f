"""Content-addressed ELM cache: in memory, and on disk under a cache dir (``MEDQC_ELM_CACHE_DIR``).

The key is a SHA-256 over the translator identity, the library's CQL and the CQL of the libraries
it was translated with, so a change to any of them misses the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

TRANSLATOR_ID = "cqframework-cql-5.3.0;medqc-system-1.0.0;medqc-fhirhelpers-4.0.1;medqc-qicore-4.1.1"


def elm_key(cql: str, context: list[str] | None = None) -> str:
    """Content hash of ``cql`` translated alongside ``context`` (other library texts).

    >>> elm_key("library A") == elm_key("library A", [])
    True
    >>> elm_key("library A") == elm_key("library B")
    False
    """
    digest = hashlib.sha256(TRANSLATOR_ID.encode())
    digest.update(b"\0" + cql.encode())
    for other in sorted(set(context or []) - {cql}):
        digest.update(b"\1" + hashlib.sha256(other.encode()).digest())
    return digest.hexdigest()


class ElmCache:
    """``get``/``put`` ELM JSON by key; disk writes are atomic, unreadable files are misses."""

    def __init__(self, directory: Path | str | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._memory: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        if key in self._memory:
            return self._memory[key]
        if self.directory is None:
            return None
        path = self.directory / f"{key}.json"
        try:
            elm: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        self._memory[key] = elm
        return elm

    def put(self, key: str, elm: dict[str, Any]) -> None:
        self._memory[key] = elm
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(elm, handle, separators=(",", ":"))
            os.replace(tmp, self.directory / f"{key}.json")
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def clear_memory(self) -> None:
        self._memory.clear()
