"""Temporal's side of the orchestration: the activities (one per durable step), the worker, the launcher.

Every activity has the same body, :meth:`Orchestrator.execute_durable` (idempotent per ``<run>/<step>``),
registered under the step's name so that Temporal's UI shows each step by name. While a step works the
activity heartbeats: if the worker dies mid-step the heartbeat stops, Temporal times the attempt out and
retries it on the next worker, which finds the run's inputs and the earlier steps' outputs in the audit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from agents.orchestration.audit import RunRecord, StepRecord
from agents.orchestration.graph import RUNS
from agents.orchestration.runner import Orchestrator
from agents.orchestration.workflow import RunWorkflow
from agents.orchestration.workflow_messages import HEARTBEAT_TIMEOUT, WORKFLOW, RunRef, StepDone, StepTask
from agents.orchestration.workflow_messages import workflow_id as workflow_id_of
from fhir_ops.errors import FhirError

HEARTBEAT_EVERY_S = HEARTBEAT_TIMEOUT.total_seconds() / 4


class TemporalLauncher:
    """Starts a run's workflow (idempotently: the workflow id is the run's) and waits for it."""

    def __init__(self, client: Client, *, task_queue: str, start_timeout_s: float) -> None:
        self.client = client
        self.task_queue = task_queue
        self.start_timeout_s = start_timeout_s

    async def launch(self, run: RunRecord, steps: list[str], done: Sequence[StepRecord] = ()) -> None:
        await asyncio.wait_for(
            self.client.start_workflow(
                WORKFLOW,
                RunRef(run.run_id, run.kind, steps),
                id=workflow_id_of(run.run_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                memo={"trace_id": run.trace_id, "kind": run.kind},
                static_summary=f"{run.kind} · trace {run.trace_id}",
                static_details=step_details(run, done),
                rpc_timeout=timedelta(seconds=self.start_timeout_s),
            ),
            self.start_timeout_s,
        )

    async def wait(self, run: RunRecord, timeout_s: float) -> None:
        handle = self.client.get_workflow_handle(workflow_id_of(run.run_id))
        await asyncio.wait_for(handle.result(), timeout_s)


def step_details(run: RunRecord, done: Sequence[StepRecord]) -> str:
    """The run's steps for Temporal's UI (markdown): those that ran before the workflow started — inline,
    in the caller — with status and duration; the durable ones follow as the workflow's activities.
    Digests and versions only, no patient data."""
    lines = [
        f"run `{run.run_id}` · trace `{run.trace_id}`",
        "",
        "| step | where | status | ms | output digest |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.step} | {r.where} | {r.status} | {r.duration_ms:.1f} | `{r.output_digest or '-'}` |"
        for r in done
    ]
    ran = {r.step for r in done}
    lines += [f"| {name} | activity | below | | |" for name in run.steps if name not in ran]
    versions = " · ".join(f"{k} `{v}`" for k, v in sorted(run.versions.items()))
    return "\n".join([*lines, "", f"versions: {versions}"])


@asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat the current activity until the block ends."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    task = asyncio.get_running_loop().create_task(beat())
    try:
        yield
    finally:
        task.cancel()


def durable_step_names() -> list[str]:
    return sorted({s.name for run in RUNS.values() for s in run.steps if s.durable})


def activities(orchestrator: Orchestrator) -> list[Callable[[StepTask], Awaitable[StepDone]]]:
    """One activity per durable step name, all with the orchestrator's idempotent step body."""

    def make(name: str) -> Callable[[StepTask], Awaitable[StepDone]]:
        async def body(task: StepTask) -> StepDone:
            async with heartbeating():
                executed = await orchestrator.execute_durable(
                    task.run_id, task.step, where="temporal", heartbeat=activity.heartbeat
                )
            row = executed.row
            if row.status != "ok":
                error = executed.error
                permanent = isinstance(error, FhirError) and error.status < 500
                raise ApplicationError(
                    f"{task.step} failed ({row.error})",
                    type="NonRetryable" if permanent else row.error,
                    non_retryable=permanent,
                )
            return StepDone(row.step, row.status, row.output_digest, row.duration_ms)

        body.__name__ = f"step_{name.replace('-', '_')}"
        return activity.defn(name=name)(body)

    return [make(name) for name in durable_step_names()]


def build_worker(client: Client, orchestrator: Orchestrator, *, task_queue: str) -> Worker:
    """The worker of this MedQC process: the run workflow and the step activities.

    The workflow runs outside Temporal's sandbox: the sandbox re-imports the workflow's modules for every
    workflow it starts (a fifth of a loaded worker's CPU), and it guards against non-determinism this
    workflow cannot have — it reads only the graph, pure data, and calls activities
    (``tests/orchestration`` replays a recorded history against it)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RunWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
        activities=activities(orchestrator),
        max_concurrent_activities=8,
        graceful_shutdown_timeout=timedelta(seconds=5),
    )
