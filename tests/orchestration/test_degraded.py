"""Temporal unreachable: the hook still answers at once, its durable work waits in the database outbox
(counted as deferred), and is done once it can be handed over."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from agents.orchestration.audit import RunRecord, StepRecord
from agents.orchestration.runs import encounter_discharge
from agents.orchestration.telemetry import DISPATCH
from medqc.services import Services
from tests.orchestration.conftest import af_record


class Unreachable:
    """A launcher whose server refuses every connection (the edge this test cuts)."""

    def __init__(self) -> None:
        self.calls = 0

    async def launch(self, run: RunRecord, steps: list[str], done: Sequence[StepRecord] = ()) -> None:
        self.calls += 1
        raise ConnectionRefusedError("temporal is down")

    async def wait(self, run: RunRecord, timeout_s: float) -> None:
        raise AssertionError("not reached")


async def test_hooks_answer_and_keep_their_work_while_temporal_is_down(services: Services) -> None:
    orchestrator = services.orchestrator
    down = Unreachable()
    orchestrator.launcher, orchestrator.expect_temporal = down, True
    orchestrator.circuit_s = 600  # the two hooks fall in one outage, however slow this machine is
    deferred = DISPATCH.labels("deferred")._value.get()
    first = await encounter_discharge(orchestrator, af_record("e-down-1"))
    second = await encounter_discharge(orchestrator, af_record("e-down-2"))
    assert first["entry"]
    assert second["entry"]
    assert down.calls == 1, "after a failed start, hooks do not wait for Temporal"
    assert DISPATCH.labels("deferred")._value.get() >= deferred + 2
    assert await orchestrator.audit.pending() == 2  # both runs kept, nothing stored yet
    assert (
        await services.repo.search("MeasureReport", [("evaluated-resource", "Encounter/e-down-1")])
    ).total == 0

    # The work is handed over again once possible (here: in-process, as without a Temporal server).
    orchestrator.launcher, orchestrator.expect_temporal = None, False
    async with services.db.session() as session, session.begin():
        await session.execute(text("UPDATE run_outbox SET next_attempt_at = 0"))
    assert await orchestrator.pump() == 2
    assert await orchestrator.audit.pending() == 0
    for encounter in ("e-down-1", "e-down-2"):
        found = await services.repo.search(
            "MeasureReport", [("evaluated-resource", f"Encounter/{encounter}")]
        )
        assert found.total == len(first["entry"])
