"""Key material and replay protection for CDS client JWTs: a JWKS cache and a ``jti`` replay cache."""

from __future__ import annotations

import asyncio
import heapq
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from cds_services.errors import CdsUnauthorizedError


def is_url(location: str) -> bool:
    return location.startswith(("https://", "http://"))


class SharedJwksStore(Protocol):
    """Key sets shared by replicas (``cds_services.shared_cache.DbJwksStore``): the JSON and the
    wall-clock time it was fetched."""

    async def get(self, location: str) -> tuple[dict[str, Any], float] | None: ...

    async def put(self, location: str, jwks: dict[str, Any], fetched_at: float) -> None: ...


@dataclass(slots=True)
class _Entry:
    keys: KeySet
    kids: frozenset[str]
    fetched_at: float


class JwksCache:
    """Public key sets by location (a URL or a file path), cached; refreshed when a ``kid`` is unknown.

    A refresh for an unknown ``kid`` happens at most once per ``min_refresh_s`` per location, so a
    stream of tokens with invented ``kid`` values cannot turn MedQC into a JWKS-fetching amplifier.
    With a ``store``, replicas share what any of them fetched (and so share that limit).
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        ttl_s: float = 3600.0,
        min_refresh_s: float = 30.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        store: SharedJwksStore | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._store = store
        self._wall = wall_clock
        self._ttl_s = ttl_s
        self._min_refresh_s = min_refresh_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def key_set(self, location: str, *, kid: str) -> KeySet:
        """The key set at ``location``; raises :class:`CdsUnauthorizedError` if it has no key ``kid``."""
        entry = self._entries.get(location)
        if entry is None or self._needs_refresh(entry, kid):
            lock = self._locks.setdefault(location, asyncio.Lock())
            async with lock:
                entry = self._entries.get(location)
                if entry is None or self._needs_refresh(entry, kid):
                    entry = await self._shared(location, entry, kid) or await self._refresh(location, entry)
        if kid not in entry.kids:
            raise CdsUnauthorizedError("no key with this kid in the issuer's JWKS")
        return entry.keys

    def _needs_refresh(self, entry: _Entry, kid: str) -> bool:
        age = self._clock() - entry.fetched_at
        return age > self._ttl_s or (kid not in entry.kids and age > self._min_refresh_s)

    async def _shared(self, location: str, previous: _Entry | None, kid: str) -> _Entry | None:
        """Another replica's newer fetch, when it spares this one a fetch."""
        shared = await self._store.get(location) if self._store is not None else None
        if shared is None:
            return None
        raw, fetched_wall = shared
        try:
            keys = KeySet.import_key_set(raw)  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError, JoseError):
            return None
        entry = _Entry(
            keys=keys,
            kids=frozenset(str(k.kid) for k in keys.keys if k.kid),
            fetched_at=self._clock() - max(0.0, self._wall() - fetched_wall),
        )
        older = previous is not None and entry.fetched_at <= previous.fetched_at
        if older or self._needs_refresh(entry, kid):
            return None
        self._entries[location] = entry
        return entry

    async def _refresh(self, location: str, previous: _Entry | None) -> _Entry:
        try:
            raw = await self._load(location)
            keys = KeySet.import_key_set(raw)  # type: ignore[arg-type]
        except (OSError, ValueError, TypeError, KeyError, JoseError, httpx.HTTPError) as exc:
            if previous is not None:  # keep serving the keys we had; try again after min_refresh_s
                previous.fetched_at = self._clock() - self._ttl_s + self._min_refresh_s
                return previous
            raise CdsUnauthorizedError(f"JWKS unavailable: {type(exc).__name__}") from exc
        kids = frozenset(str(k.kid) for k in keys.keys if k.kid)
        entry = _Entry(keys=keys, kids=kids, fetched_at=self._clock())
        self._entries[location] = entry
        if self._store is not None and isinstance(raw, dict):
            await self._store.put(location, raw, self._wall())
        return entry

    async def _load(self, location: str) -> object:
        if is_url(location):
            if self._http is not None:
                response = await self._http.get(location, timeout=self._timeout_s)
            else:
                async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                    response = await client.get(location)
            response.raise_for_status()
            return response.json()
        text = await asyncio.to_thread(Path(location).read_text, encoding="utf-8")
        return json.loads(text)


class ReplayStore(Protocol):
    """Where used ``jti`` keys are claimed: in-process (:class:`ReplayCache`) or shared by replicas
    (``cds_services.shared_cache.DbReplayCache``)."""

    async def claim(self, key: str, *, until: float) -> bool: ...


class ReplayCache:
    """``jti`` values seen and not yet expired, in this process (one replica, tests); replicas share
    ``cds_services.shared_cache.DbReplayCache`` instead."""

    def __init__(self, *, clock: Callable[[], float] = time.time, max_entries: int = 200_000) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._seen: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []

    def first_use(self, key: str, *, until: float) -> bool:
        """Record ``key`` as used until ``until`` (epoch seconds); False if it was already used."""
        self._purge()
        if key in self._seen:
            return False
        if len(self._seen) >= self._max_entries:
            return False  # refuse rather than forget: forgetting would re-open replays
        self._seen[key] = until
        heapq.heappush(self._expiry, (until, key))
        return True

    async def claim(self, key: str, *, until: float) -> bool:
        return self.first_use(key, until=until)

    def _purge(self) -> None:
        now = self._clock()
        while self._expiry and self._expiry[0][0] < now:
            _, key = heapq.heappop(self._expiry)
            self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)
