"""Replay a recorded run on its recorded inputs and compare every output (``medqc replay TRACE_ID``).

The pure steps are executed again in the graph's order, each on the replayed outputs of the steps it
needs (so a changed lexicon shows in the facts, then in the populations, then in the reports); steps that
read or write the store are not re-run (their recorded output stands in for them). Outputs are compared
after masking what differs on every run by design (report ids and dates). The versions recorded with the
run are set beside the current ones: a difference with a new knowledge base is "what changed and why".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.orchestration.audit import AuditStore, Json, RunRecord
from agents.orchestration.graph import RUNS
from agents.orchestration.steps import STEPS, StepEnv, StepServices
from agents.orchestration.versions import current_versions
from fhir_ops.tracing import trace_id_var

StepVerdict = Literal["identical", "differs", "skipped", "failed"]
#: masked before comparing: a run mints new report ids and dates by design
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VOLATILE_KEYS = frozenset({"date", "lastUpdated", "versionId"})
MAX_DIFFERENCES = 25


@dataclass(slots=True)
class StepReplay:
    step: str
    verdict: StepVerdict
    differences: list[str] = field(default_factory=list)
    note: str | None = None


@dataclass(slots=True)
class RunReplay:
    run: RunRecord
    versions_now: dict[str, str]
    steps: list[StepReplay]

    @property
    def identical(self) -> bool:
        return all(s.verdict in {"identical", "skipped"} for s in self.steps)

    def changed_versions(self) -> dict[str, tuple[str, str]]:
        then = self.run.versions
        return {k: (then.get(k, "?"), v) for k, v in self.versions_now.items() if then.get(k) != v}


def masked(value: Json) -> Json:
    """``value`` with uuids and volatile keys masked."""
    if isinstance(value, dict):
        return {k: "<volatile>" if k in VOLATILE_KEYS else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        return _UUID.sub("<uuid>", value)
    return value


def _short(value: Json) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def differences(old: Json, new: Json, path: str = "", out: list[str] | None = None) -> list[str]:
    """Paths where ``old`` and ``new`` differ (at most :data:`MAX_DIFFERENCES`), as ``path: old → new``.

    >>> differences({"a": [1, {"b": True}]}, {"a": [1, {"b": False}], "c": 2})
    ['a[1].b: True → False', 'c: (absent) → 2']
    """
    out = [] if out is None else out
    if len(out) >= MAX_DIFFERENCES:
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{where}: (absent) → {_short(new[key])}")
            elif key not in new:
                out.append(f"{where}: {_short(old[key])} → (absent)")
            else:
                differences(old[key], new[key], where, out)
            if len(out) >= MAX_DIFFERENCES:
                break
    elif isinstance(old, list) and isinstance(new, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            differences(a, b, f"{path}[{i}]", out)
        if len(old) != len(new):
            out.append(f"{path}: {len(old)} items → {len(new)} items")
    elif old != new:
        out.append(f"{path or '(value)'}: {_short(old)} → {_short(new)}")
    return out[:MAX_DIFFERENCES]


async def replay_run(services: StepServices, audit: AuditStore, run: RunRecord) -> RunReplay:
    graph = RUNS[run.kind]
    recorded = {s.step: s for s in await audit.steps(run.run_id) if s.status == "ok"}
    kb = current_versions().kb
    outputs: dict[str, Any] = {}
    result: list[StepReplay] = []
    for name in run.steps:
        step = graph.step(name)
        old = recorded.get(name)
        if old is None:
            result.append(StepReplay(name, "skipped", note="not recorded as done"))
            continue
        if step.effect != "pure":
            outputs[name] = old.output
            result.append(StepReplay(name, "skipped", note=f"{step.effect} the store: not re-run"))
            continue
        env = StepEnv(
            services=services,
            run_id=run.run_id,
            step=name,
            inputs=run.inputs,
            outputs={n: outputs[n] for n in (*step.needs, "context") if n in outputs},
            args=step.args,
            kb_version=kb,
        )
        try:
            new = (await STEPS[step.does](env)).output
        except Exception as exc:
            outputs[name] = old.output
            result.append(StepReplay(name, "failed", note=f"{type(exc).__name__}: {exc}"[:200]))
            continue
        outputs[name] = new
        diff = differences(masked(old.output), masked(new))
        result.append(StepReplay(name, "differs" if diff else "identical", diff))
    return RunReplay(run, current_versions().as_dict(), result)


async def replay_trace(services: StepServices, audit: AuditStore, trace_id: str) -> list[RunReplay] | None:
    """The replays of every run recorded under ``trace_id``; None when there is none."""
    runs = await audit.runs_of_trace(trace_id)
    if not runs:
        return None
    token = trace_id_var.set(trace_id)  # the steps stamp their outputs with the run's trace
    try:
        return [await replay_run(services, audit, run) for run in runs]
    finally:
        trace_id_var.reset(token)


def render(replays: list[RunReplay]) -> str:
    """A plain-text report of the replays."""
    lines: list[str] = []
    for rep in replays:
        verdict = "identical" if rep.identical else "DIFFERS"
        lines.append(f"run {rep.run.run_id} ({rep.run.kind}, {rep.run.created_at.isoformat()}): {verdict}")
        for key, (then, now) in rep.changed_versions().items():
            lines.append(f"  version {key}: {then} → {now}")
        for step in rep.steps:
            note = f" ({step.note})" if step.note else ""
            lines.append(f"  {step.step:<16} {step.verdict}{note}")
            lines.extend(f"      {d}" for d in step.differences)
    return "\n".join(lines)
