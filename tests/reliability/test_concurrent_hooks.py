"""Concurrent discharge hooks for one encounter leave exactly one current card set (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from cds_services.tables import CdsCardRow
from medqc.settings import Settings
from tests.conftest import BACKENDS, make_settings
from tests.reliability.conftest import Scale
from tests.reliability.hooks import ENCOUNTER, HOOK_PATH, discharge_call
from tests.support.live import live_server


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Settings]]:
    settings = make_settings(str(request.param), tmp_path_factory.mktemp("hooks"))
    with live_server(settings) as base:
        yield base, settings


async def _current_sets(url: str) -> int:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        query = select(func.count(func.distinct(CdsCardRow.hook_instance))).where(
            CdsCardRow.encounter_id == ENCOUNTER, CdsCardRow.superseded_at.is_(None)
        )
        count = int((await conn.execute(query)).scalar_one())
    await engine.dispose()
    return count


def test_concurrent_hooks_leave_one_current_card_set(app: tuple[str, Settings], scale: Scale) -> None:
    base, settings = app

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            return list(
                await asyncio.gather(
                    *(client.post(HOOK_PATH, json=discharge_call()) for _ in range(scale.clients))
                )
            )

    for _ in range(max(1, scale.rounds // 3)):
        responses = asyncio.run(fire())
        assert {r.status_code for r in responses} == {200}, [
            r.text[:200] for r in responses if r.status_code != 200
        ]
        assert any(r.json()["cards"] for r in responses)
        assert asyncio.run(_current_sets(settings.database_url)) == 1
