"""The submission ledger on SQLite and PostgreSQL: every attempt is kept; the baseline of a diff is the
newest accepted submission of the same report to the same platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from measures.reporting.ledger import Ledger, Outcome
from medqc.db import Database
from medqc.migrate import upgrade_to_head
from tests.conftest import BACKENDS, POSTGRES_URL

PLATFORM = "https://platform.example/fhir"


@pytest.fixture(params=BACKENDS)
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Ledger]:
    url = POSTGRES_URL if request.param == "postgres" else f"sqlite+aiosqlite:///{tmp_path / 'l.sqlite'}"
    assert url
    db = Database(url)
    if request.param == "postgres":
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade_to_head(db.engine)
    yield Ledger(db)
    await db.dispose()


async def _record(
    ledger: Ledger, report_id: str, digest: str, outcome: Outcome, platform: str = PLATFORM
) -> int:
    report = {
        "resourceType": "MeasureReport",
        "id": report_id,
        "period": {"start": "2026-01-01", "end": "2026-03-31"},
    }
    entry = await ledger.record(
        platform=platform,
        measure_id="m1",
        report_key=f"Organization/h|http://x/Measure/m1|{report_id}",
        report=report,
        digest=digest,
        outcome=outcome,
        http_status=200 if outcome == "accepted" else 422 if outcome == "rejected" else None,
        platform_result="created" if outcome == "accepted" else None,
        attempts=1,
        approved_by="qc-officer",
        response={"resourceType": "OperationOutcome", "issue": []},
    )
    return entry.id


async def test_every_attempt_is_kept_and_the_baseline_is_the_last_accepted(ledger: Ledger) -> None:
    assert await ledger.last_accepted(platform=PLATFORM, report_id="r1") is None
    first = await _record(ledger, "r1", "d1", "accepted")
    await _record(ledger, "r1", "d2", "rejected")
    await _record(ledger, "r1", "d3", "failed")
    await _record(ledger, "r1", "d4", "accepted", platform="https://other.example/fhir")
    baseline = await ledger.last_accepted(platform=PLATFORM, report_id="r1")
    assert baseline is not None
    assert (baseline.id, baseline.digest, baseline.report["id"]) == (first, "d1", "r1")
    entries = await ledger.entries(platform=PLATFORM)
    assert [e.outcome for e in entries] == ["failed", "rejected", "accepted"]  # newest first
    assert entries[-1].period_start == "2026-01-01"
    assert len(await ledger.entries()) == 4
    assert len(await ledger.entries(limit=2)) == 2
