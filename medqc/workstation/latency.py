"""Latency per step of the runs, from the orchestration's append-only audit (``audit_steps``).

Median, 95th percentile and maximum of the latest successful steps (at most :data:`MAX_STEPS` rows read),
by run kind and step, in the order the steps ran.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from agents.orchestration.audit import AuditRunRow, AuditStepRow
from fhir_ops.store.database import Database

MAX_STEPS = 20_000


@dataclass(frozen=True, slots=True)
class StepLatency:
    kind: str
    step: str
    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted ``values``.

    >>> percentile([10.0, 20.0, 30.0, 40.0], 0.5), percentile([10.0, 20.0, 30.0, 40.0], 0.95)
    (20.0, 40.0)
    """
    rank = min(max(1, math.ceil(share * len(values))), len(values))
    return values[rank - 1]


async def step_latencies(db: Database) -> list[StepLatency]:
    async with db.session() as session:
        rows = await session.execute(
            select(AuditRunRow.kind, AuditStepRow.step, AuditStepRow.duration_ms, AuditStepRow.started_at)
            .join(AuditRunRow, AuditRunRow.run_id == AuditStepRow.run_id)
            .where(AuditStepRow.status == "ok")
            .order_by(AuditStepRow.started_at.desc())
            .limit(MAX_STEPS)
        )
        samples: dict[tuple[str, str], list[float]] = defaultdict(list)
        first: dict[tuple[str, str], float] = {}
        for kind, step, duration, started in rows.all():
            samples[(kind, step)].append(float(duration))
            first[(kind, step)] = started.timestamp()  # ends on the earliest: the steps' order in a run
    out = []
    for (kind, step), values in samples.items():
        values.sort()
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        out.append(StepLatency(kind, step, len(values), p50, p95, values[-1]))
    return sorted(out, key=lambda s: (s.kind, first[(s.kind, s.step)]))
