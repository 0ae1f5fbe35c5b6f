"""What the run workflow and its activities exchange: ids only, never patient data.

A module of its own so that Temporal's workflow sandbox (in which tests replay the workflow's histories)
passes it through instead of re-executing it with the workflow's module for every workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

#: an activity that stops heartbeating this long (its worker died) is retried on another worker
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
WORKFLOW = "medqc-run"


@dataclass(frozen=True, slots=True)
class RunRef:
    run_id: str
    kind: str
    steps: list[str]


@dataclass(frozen=True, slots=True)
class StepTask:
    run_id: str
    step: str


@dataclass(frozen=True, slots=True)
class StepDone:
    step: str
    status: str
    output_digest: str | None
    duration_ms: float


def workflow_id(run_id: str) -> str:
    return f"medqc-run-{run_id}"
