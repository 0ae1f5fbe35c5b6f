"""Runs on Temporal: the hook and $qc-evaluate as workflows (one activity per durable step), and a
worker killed in the middle of a slow step: the run completes on the next worker, nothing lost or done
twice."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.worker import Replayer

from agents.orchestration.audit import AuditStore
from agents.orchestration.runs import encounter_discharge
from agents.orchestration.temporal_link import TemporalLauncher
from agents.orchestration.workflow import RunWorkflow
from agents.orchestration.workflow_messages import workflow_id
from fhir_ops.data_access.record import record_from_resources
from fhir_ops.store.database import Database
from fhir_ops.tracing import trace_id_var
from medqc.services import Services
from medqc.settings import Settings
from tests.orchestration.conftest import NOTE, af_resources
from tests.reliability.hooks import ENCOUNTER, HOOK_PATH, demo_bundle, discharge_call
from tests.support.live import live_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


async def _activities(client: Client, run_id: str) -> list[tuple[str, int]]:
    """(activity type, attempt) of every activity attempt that started in the run's workflow."""
    history = await client.get_workflow_handle(workflow_id(run_id)).fetch_history()
    scheduled: dict[int, str] = {}
    started = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        if event.HasField("activity_task_started_event_attributes"):
            attrs = event.activity_task_started_event_attributes
            started.append((scheduled[attrs.scheduled_event_id], attrs.attempt))
    return started


async def _completed_run(db_url: str, address: str, trace: str, timeout_s: float = 90) -> tuple[Any, Any]:
    """The run recorded under ``trace`` once its workflow completed, and its steps."""
    db = Database(db_url)
    client = await Client.connect(address)
    try:
        audit = AuditStore(db)
        deadline = time.monotonic() + timeout_s
        while True:
            runs = await audit.runs_of_trace(trace)
            if runs:
                try:
                    described = await client.get_workflow_handle(workflow_id(runs[0].run_id)).describe()
                except Exception:  # not started yet (it waits in the outbox until the worker connects)
                    described = None
                if described is not None and described.status == WorkflowExecutionStatus.COMPLETED:
                    return runs[0], (
                        await audit.steps(runs[0].run_id),
                        await _activities(client, runs[0].run_id),
                    )
            assert time.monotonic() < deadline, f"the run of trace {trace} did not complete"
            await asyncio.sleep(0.5)
    finally:
        await db.dispose()


async def _history(address: str, run_id: str) -> WorkflowHistory:
    client = await Client.connect(address)
    return await client.get_workflow_handle(workflow_id(run_id)).fetch_history()


async def _details(address: str, run_id: str) -> str | None:
    client = await Client.connect(address)
    return await (await client.get_workflow_handle(workflow_id(run_id)).describe()).static_details()


def _traceparent() -> tuple[str, dict[str, str]]:
    trace = secrets.token_hex(16)
    return trace, {"traceparent": f"00-{trace}-{secrets.token_hex(8)}-01"}


def test_hook_and_qc_evaluate_run_as_workflows(temporal_address: str, tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'medqc.sqlite'}"
    settings = Settings(  # type: ignore[call-arg]
        database_url=db_url,
        log_level="WARNING",
        cds_auth="off",
        temporal_address=temporal_address,
        temporal_task_queue=f"medqc-test-{uuid.uuid4().hex[:8]}",
    )
    with live_server(settings) as base, httpx.Client(base_url=base, timeout=120) as http:
        assert http.post("/fhir", json=demo_bundle()).status_code == 200
        hook_trace, headers = _traceparent()
        hook = http.post(HOOK_PATH, json=discharge_call(), headers=headers)
        assert hook.status_code == 200, hook.text
        run, (steps, activities) = asyncio.run(_completed_run(db_url, temporal_address, hook_trace))
        assert run.kind == "encounter-discharge"
        where = {s.step: s.where for s in steps}
        assert where == {
            "context": "inline",
            "facts": "inline",
            "rules": "inline",
            "reports": "inline",
            "answer": "inline",
            "store": "temporal",  # the demo stay names one disease: nothing is deferred, no empty steps
        }
        assert activities == [("store", 1)]
        # the steps that ran before the workflow are shown with it in Temporal's UI
        details = asyncio.run(_details(temporal_address, run.run_id)) or ""
        for step in ("context", "facts", "rules", "reports", "answer"):
            assert f"| {step} | inline | ok |" in details
        assert "| store | activity |" in details
        # the worker runs the workflow unsandboxed; replayed in Temporal's sandbox, its recorded history
        # gives the same commands (the workflow is deterministic)
        asyncio.run(
            Replayer(workflows=[RunWorkflow]).replay_workflow(
                asyncio.run(_history(temporal_address, run.run_id))
            )
        )
        stored = http.get("/fhir/MeasureReport", params={"evaluated-resource": f"Encounter/{ENCOUNTER}"})
        assert stored.json()["total"] > 0

        qc_trace, headers = _traceparent()
        qc = http.post(
            f"/fhir/Encounter/{ENCOUNTER}/$qc-evaluate", json={"resourceType": "Parameters"}, headers=headers
        )
        assert qc.status_code == 200, qc.text
        assert qc.json()["resourceType"] == "Bundle"
        run, (steps, activities) = asyncio.run(_completed_run(db_url, temporal_address, qc_trace))
        assert [s.step for s in steps] == ["context", "facts", "rules", "reports", "store"]
        assert {s.step: s.where for s in steps} == {"context": "inline"} | dict.fromkeys(
            ["facts", "rules", "reports", "store"], "temporal"
        )
        assert [a for a, _ in activities] == ["facts", "rules", "reports", "store"]


async def _worker(env: dict[str, str], *, slow_s: float = 0) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.orchestration.worker_proc",
        cwd=ROOT,
        env={**env, "SLOW_STORE_S": str(slow_s)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await _line(process, "worker-ready")
    return process


async def _line(process: asyncio.subprocess.Process, wanted: str, timeout_s: float = 180) -> None:
    assert process.stdout is not None

    async def read() -> None:
        assert process.stdout is not None
        while (line := await process.stdout.readline()) and line.decode().strip() != wanted:
            pass
        assert line, f"the worker exited before '{wanted}'"

    await asyncio.wait_for(read(), timeout_s)


async def test_a_worker_killed_mid_step_loses_and_repeats_nothing(
    services: Services, db_url: str, temporal_address: str
) -> None:
    queue = f"medqc-kill-{uuid.uuid4().hex[:8]}"
    client = await Client.connect(temporal_address)
    orchestrator = services.orchestrator
    orchestrator.launcher = TemporalLauncher(client, task_queue=queue, start_timeout_s=5)
    orchestrator.expect_temporal = True
    trace = secrets.token_hex(16)
    token = trace_id_var.set(trace)
    try:
        # two diseases, one judged on the hook's budget: the other is the workflow's deferred branch
        record = record_from_resources(af_resources(note=f"{NOTE}既往慢性心力衰竭。"), "e-orch")
        answer = await encounter_discharge(orchestrator, record, inline_diseases=1)
    finally:
        trace_id_var.reset(token)
    await orchestrator.drain()  # the workflow is started: the answer did not wait for the store step
    (run,) = await orchestrator.audit.runs_of_trace(trace)
    assert await orchestrator.audit.ok_step(run.run_id, "store") is None

    env = {
        **os.environ,
        "MEDQC_DATABASE_URL": db_url,
        "MEDQC_TEMPORAL_ADDRESS": temporal_address,
        "MEDQC_TEMPORAL_TASK_QUEUE": queue,
        "MEDQC_LOG_LEVEL": "WARNING",
        "MEDQC_SEED_CATALOG": "false",
    }
    env.pop("MEDQC_LLM_BASE_URL", None)
    first = await _worker(env, slow_s=60)
    await _line(first, "store-started")
    first.kill()  # in the middle of the slow store step
    await first.wait()
    second = await _worker(env)
    try:
        await orchestrator.launcher.wait(run, 120)
    finally:
        second.terminate()
        await second.wait()

    steps = await orchestrator.audit.steps(run.run_id)
    assert [(s.step, s.status) for s in steps if s.step == "store"] == [("store", "ok")]  # once
    # Temporal keeps the attempt that completed: the second (the first died with its worker)
    attempts = dict(await _activities(client, run.run_id))
    assert attempts.pop("store") == 2
    # the steps after it ran once, after the restart; a step of the parallel branch (the deferred
    # indicators) may have been in flight on the killed worker too: Temporal retried it, and the audit
    # above shows it recorded once (execute_durable is idempotent)
    assert attempts.pop("store-deferred") == 1
    assert set(attempts.values()) <= {1, 2}, attempts
    assert sorted(s.step for s in steps if s.status == "ok") == sorted({s.step for s in steps}), steps
    reports = await services.repo.search("MeasureReport", [("evaluated-resource", "Encounter/e-orch")])
    assert reports.total == len(answer["entry"]) > 0  # nothing lost
    assert {r["meta"]["versionId"] for r in reports.matches} == {"1"}  # nothing written twice
