"""The Temporal workflow of a run: one workflow per run, one activity per durable step.

Deterministic by construction: the workflow reads only the graph (pure data) and calls activities named
after the steps, in the graph's layers (a layer's steps run in parallel). The activities do the work and
record it (agents/orchestration/temporal_link.py); the workflow passes only ids around, never patient
data, so Temporal's history holds none.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from agents.orchestration.graph import RUNS, layers
    from agents.orchestration.workflow_messages import HEARTBEAT_TIMEOUT, WORKFLOW, RunRef, StepDone, StepTask


@workflow.defn(name=WORKFLOW)
class RunWorkflow:
    @workflow.run
    async def run(self, ref: RunRef) -> list[StepDone]:
        graph = RUNS[ref.kind]
        done: list[StepDone] = []
        for group in layers([graph.step(name) for name in ref.steps]):
            results = await asyncio.gather(
                *(
                    workflow.execute_activity(
                        step.name,
                        StepTask(ref.run_id, step.name),
                        result_type=StepDone,
                        start_to_close_timeout=timedelta(seconds=step.timeout_s),
                        heartbeat_timeout=HEARTBEAT_TIMEOUT,
                        retry_policy=RetryPolicy(
                            initial_interval=timedelta(seconds=1),
                            backoff_coefficient=2.0,
                            maximum_interval=timedelta(seconds=30),
                            maximum_attempts=step.attempts,
                            non_retryable_error_types=["NonRetryable"],
                        ),
                        summary=f"{ref.kind}/{step.name}",
                    )
                    for step in group
                )
            )
            done.extend(results)
        return done
