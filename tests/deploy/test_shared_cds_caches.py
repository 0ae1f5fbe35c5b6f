"""Replicas share the CDS JWT caches through the database: a ``jti`` used at one replica is refused at
another, and a key set one replica fetched serves the others (so the refresh limit holds deployment-wide).
Each "replica" is its own cache object over its own engine on the same database (SQLite file, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import text

from cds_services.errors import CdsUnauthorizedError
from cds_services.jwks import JwksCache
from cds_services.shared_cache import DbJwksStore, DbReplayCache
from medqc.db import Database
from medqc.migrate import upgrade_to_head
from tests.conftest import BACKENDS, POSTGRES_URL

JWKS_URL = "https://ehr.example.org/jwks"


@pytest.fixture(params=BACKENDS)
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Database, Database]]:
    if request.param == "postgres":
        assert POSTGRES_URL
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite'}"
    first, second = Database(url), Database(url)
    if request.param == "postgres":  # an empty schema, as reset_postgres does (inside this event loop)
        async with first.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade_to_head(first.engine)
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_a_jti_is_used_once_across_replicas(replicas: tuple[Database, Database]) -> None:
    now = [1000.0]
    a, b = (DbReplayCache(db, clock=lambda: now[0]) for db in replicas)
    assert await a.claim("iss\x00jti-1", until=1100)
    assert not await b.claim("iss\x00jti-1", until=1100)  # replayed to another pod
    assert not await a.claim("iss\x00jti-1", until=1100)
    assert await b.claim("iss\x00jti-2", until=1100)
    now[0] = 1101  # expired: the key no longer blocks (the token itself is expired by then)
    assert await a.claim("iss\x00jti-1", until=1200)


async def test_a_fetched_key_set_serves_every_replica(replicas: tuple[Database, Database]) -> None:
    key = ECKey.generate_key("P-384", parameters={"kid": "k1"})
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        return httpx.Response(200, json={"keys": [key.as_dict(private=False)]})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        a, b = (JwksCache(http=http, store=DbJwksStore(db)) for db in replicas)
        assert "k1" in {k.kid for k in (await a.key_set(JWKS_URL, kid="k1")).keys}
        assert "k1" in {k.kid for k in (await b.key_set(JWKS_URL, kid="k1")).keys}
        assert len(hits) == 1  # the second replica used the first one's fetch
        for cache in (a, b):  # invented kids: no replica refetches within min_refresh_s
            with pytest.raises(CdsUnauthorizedError):
                await cache.key_set(JWKS_URL, kid="invented")
        assert len(hits) == 1
