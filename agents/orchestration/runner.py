"""Execute runs along their graph: inline steps in the caller, durable steps on Temporal (or in-process).

``Orchestrator.run`` is the one entry of every run. It selects the graph's steps whose conditions hold,
executes the inline ones, records the run (its inputs and versions) with those steps and — when durable
steps remain — an outbox row, in one transaction, and then:

* for a run the caller waits for (``$qc-evaluate``, a population rating), starts its workflow and waits
  for it, or, with no Temporal server connected, executes the durable steps in-process;
* for the hook, answers once the run and its outbox row are committed and starts the workflow after the
  answer (the outbox row keeps the work across a crash in between: the pump hands it over after
  ``SETTLE_S``). When Temporal cannot be reached within ``start_timeout_s`` the outbox row stays,
  :meth:`pump` retries, and for ``circuit_s`` hooks do not try;
  when even the database is down the run waits in memory and is recorded once it is back. Without a
  Temporal server configured the durable steps run in-process after the answer.

``execute_durable`` is the body of every durable step (a Temporal activity or the in-process executor):
it is idempotent (a step already recorded as ok is not done again).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from agents.orchestration.audit import AuditStore, Json, RunRecord, StepRecord, digest
from agents.orchestration.graph import RUNS, Condition, Run, Step
from agents.orchestration.steps import STEPS, StepEnv, StepServices
from agents.orchestration.telemetry import DISPATCH, HANDOVER, OUTBOX, StepTelemetry
from agents.orchestration.versions import Versions, current_versions
from fhir_ops.data_access.record import EncounterRecord

log = logging.getLogger(__name__)

#: a dispatched run's outbox row is picked up by the pump only after this (its dispatch is in flight)
SETTLE_S = 10.0
#: pauses between attempts to hand over a run whose dispatch failed
RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
PUMP_BATCH = 50


class Launcher(Protocol):
    """Hands durable steps to the workflow engine (agents.orchestration.temporal_link)."""

    async def launch(self, run: RunRecord, steps: list[str], done: Sequence[StepRecord] = ()) -> None:
        """Start the run's workflow (idempotent: an already started run is left alone), ``done`` the steps
        that ran before it (shown with the workflow); raises when the engine cannot be reached within its
        deadline."""
        ...

    async def wait(self, run: RunRecord, timeout_s: float) -> None:
        """Wait for the run's workflow to finish; raises if it failed or did not finish in time."""
        ...


@dataclass(frozen=True, slots=True)
class Executed:
    """A step's recorded row, and the exception it raised (not recorded: only its class name is)."""

    row: StepRecord
    error: Exception | None


class TemporalUnavailable(RuntimeError):
    """The configured Temporal server is not connected."""


class RunFailed(RuntimeError):
    """A durable step of a run the caller waits for did not succeed."""


def new_run_id(trace_id: str) -> str:
    return f"{trace_id}-{secrets.token_hex(4)}"


@dataclass(slots=True)
class Orchestrator:
    services: StepServices
    audit: AuditStore
    telemetry: StepTelemetry = field(default_factory=StepTelemetry)
    launcher: Launcher | None = None
    versions: Versions = field(default_factory=current_versions)
    start_timeout_s: float = 1.0
    wait_timeout_s: float = 900.0
    trace_id: Callable[[], str] = lambda: "-"
    #: a Temporal server is configured: while it is unreachable, durable work waits in the outbox
    expect_temporal: bool = False
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _active: set[str] = field(default_factory=set)
    _unrecorded: list[tuple[RunRecord, list[StepRecord]]] = field(default_factory=list)
    #: after a failed start, hooks skip Temporal this long (they leave the work to the outbox pump)
    circuit_s: float = 5.0
    #: notes larger than this are refused (a 400) by a run's context step
    max_note_bytes: int | None = None
    _down_until: float = 0.0

    # ---- running ----------------------------------------------------------------------------------
    def conditions(self, *, stored: bool) -> list[Condition]:
        held: list[Condition] = ["stored"] if stored else []
        if self.services.full_policy is not None:
            held.append("model")
        return held

    async def run(
        self,
        kind: str,
        inputs: dict[str, Json],
        *,
        record: EncounterRecord | None = None,
        stored: bool = False,
    ) -> dict[str, Json]:
        """Execute a run of ``kind`` on ``inputs``; the outputs of the steps executed before returning."""
        graph = RUNS[kind]
        held = self.conditions(stored=stored)
        # inline steps never depend on "deferred": it is decided from their outputs (below)
        steps = graph.selected([*held, "deferred"])
        trace_id = self.trace_id()
        if len(trace_id) != 32:
            trace_id = secrets.token_hex(16)
        run = RunRecord(
            run_id=new_run_id(trace_id),
            trace_id=trace_id,
            kind=kind,
            created_at=datetime.now(UTC),
            steps=[s.name for s in steps],
            inputs=inputs,
            versions=self.versions.as_dict(),
        )
        outputs: dict[str, Json] = {}
        rows: list[StepRecord] = []
        inputs_digest = digest(inputs)
        for step in (s for s in steps if not s.durable):
            done = await self._execute(
                graph, run, step, outputs, inputs_digest, record=record, where="inline"
            )
            rows.append(done.row)
            if done.error is not None:
                await self._record_best_effort(run, rows)
                raise done.error
            outputs[step.name] = done.row.output
        if _defers(outputs):
            held.append("deferred")
        steps = graph.selected(held)
        run = replace(run, steps=[s.name for s in steps])
        durable = [s.name for s in steps if s.durable]
        if not durable:
            await self._record_best_effort(run, rows)
            return outputs
        if graph.waits:
            return {**outputs, **await self._run_waiting(graph, run, rows, outputs, durable, record)}
        await self._hand_over(run, rows, durable)
        return outputs

    async def _run_waiting(
        self,
        graph: Run,
        run: RunRecord,
        rows: list[StepRecord],
        outputs: dict[str, Json],
        durable: list[str],
        record: EncounterRecord | None,
    ) -> dict[str, Json]:
        launcher = self.launcher
        if launcher is not None:
            await self.audit.begin(run, rows, outbox=True, settle_s=SETTLE_S)
            try:
                await launcher.launch(run, durable, rows)
            except Exception as exc:
                DISPATCH.labels("deferred").inc()
                log.warning("Temporal unreachable: running in-process", extra={"error": type(exc).__name__})
            else:
                DISPATCH.labels("started").inc()
                await self.audit.done(run.run_id)
                await launcher.wait(run, self.wait_timeout_s)
                found = await self.audit.outputs(run.run_id, durable)
                missing = [n for n in durable if n not in found]
                if missing:
                    raise RunFailed(f"{run.kind}: steps {missing} did not complete")
                return found
        else:
            await self.audit.begin(run, rows, outbox=False)
        DISPATCH.labels("local").inc()
        done = await self._execute_locally(
            graph, run, durable, dict(outputs), record=record, raise_errors=True
        )
        await self.audit.done(run.run_id)
        return done

    async def _hand_over(self, run: RunRecord, rows: list[StepRecord], durable: list[str]) -> None:
        """Record the run with its outbox row, then start its durable work; never raises, never hangs
        longer than the start deadline."""
        began = time.perf_counter()
        try:
            await self.audit.begin(run, rows, outbox=True, settle_s=SETTLE_S)
        except Exception as exc:  # the database is down: keep the run until it can be recorded
            DISPATCH.labels("deferred").inc()
            log.warning("could not record a run: kept for a retry", extra={"error": type(exc).__name__})
            self._unrecorded.append((run, rows))
            return
        temporal_up = self.launcher is not None and time.monotonic() >= self._down_until
        in_process = self.launcher is None and not self.expect_temporal
        if temporal_up or in_process:
            # after the answer (the committed outbox row keeps the work): the workflow is started, or
            # without Temporal the steps run in-process
            self._dispatch(run, durable, rows)
        else:
            DISPATCH.labels("deferred").inc()  # Temporal is down: the outbox row waits for the pump
        HANDOVER.observe(time.perf_counter() - began)

    def _dispatch(self, run: RunRecord, durable: list[str], done: list[StepRecord]) -> None:
        self._active.add(run.run_id)
        task = asyncio.get_running_loop().create_task(self._deliver(run, durable, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, run: RunRecord, durable: list[str], done: list[StepRecord]) -> None:
        """Start the workflow (or run in-process without Temporal), then clear the outbox row; on failure
        the row stays for :meth:`pump`."""
        try:
            if self.launcher is not None:
                await self.launcher.launch(run, durable, done)
                DISPATCH.labels("started").inc()
            elif self.expect_temporal:
                raise TemporalUnavailable("no Temporal connection yet")
            else:
                await self._execute_locally(RUNS[run.kind], run, durable, None, record=None)
                DISPATCH.labels("local").inc()
            await self.audit.done(run.run_id)
        except Exception as exc:
            DISPATCH.labels("deferred").inc()
            if self.launcher is not None:
                self._down_until = time.monotonic() + self.circuit_s
            log.warning("durable work deferred", extra={"run": run.kind, "error": type(exc).__name__})
            await _quietly(self.audit.postpone(run.run_id, delays=RETRY_S, error=type(exc).__name__))
        finally:
            self._active.discard(run.run_id)

    async def _execute_locally(
        self,
        graph: Run,
        run: RunRecord,
        durable: list[str],
        outputs: dict[str, Json] | None,
        *,
        record: EncounterRecord | None,
        raise_errors: bool = False,
    ) -> dict[str, Json]:
        done: dict[str, Json] = {}
        for name in durable:
            executed = await self.execute_durable(run.run_id, name, record=record, where="local")
            if executed.error is not None or executed.row.status != "ok":
                if raise_errors and executed.error is not None:
                    raise executed.error
                raise RunFailed(f"{run.kind}/{name} failed") from executed.error
            done[name] = executed.row.output
        return done

    # ---- one durable step (a Temporal activity, or the in-process executor) -----------------------
    async def execute_durable(
        self,
        run_id: str,
        step_name: str,
        *,
        record: EncounterRecord | None = None,
        where: str = "temporal",
        heartbeat: Callable[[], None] = lambda: None,
    ) -> Executed:
        """Execute one durable step of a recorded run, unless it is already recorded as done."""
        existing = await self.audit.ok_step(run_id, step_name)
        if existing is not None:
            return Executed(existing, None)
        run = await self.audit.run(run_id)
        if run is None:
            raise RunFailed(f"no recorded run {run_id}")
        graph = RUNS[run.kind]
        step = graph.step(step_name)
        wanted = [n for n in (*step.needs, "context") if n in run.steps]
        outputs = await self.audit.outputs(run_id, wanted)
        executed = await self._execute(
            graph, run, step, outputs, digest(run.inputs), record=record, where=where, heartbeat=heartbeat
        )
        return Executed(await self.audit.append(executed.row), executed.error)

    async def _execute(
        self,
        graph: Run,
        run: RunRecord,
        step: Step,
        outputs: dict[str, Json],
        inputs_digest: str,
        *,
        record: EncounterRecord | None,
        where: str,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> Executed:
        needed = {n: outputs[n] for n in (*step.needs, "context") if n in outputs and n != step.name}
        env = StepEnv(
            services=self.services,
            run_id=run.run_id,
            step=step.name,
            inputs=run.inputs,
            outputs=needed,
            args=step.args,
            kb_version=self.versions.kb,
            heartbeat=heartbeat,
            max_note_bytes=self.max_note_bytes,
            _record=record,
        )
        input_digest = digest(
            {
                "inputs": inputs_digest,
                "needs": {n: digest(v) for n, v in needed.items()},
                "args": dict(step.args),
            }
        )
        started = datetime.now(UTC)
        began = time.perf_counter()
        row = StepRecord(
            run_id=run.run_id,
            trace_id=run.trace_id,
            step=step.name,
            status="ok",
            started_at=started,
            duration_ms=0.0,
            input_digest=input_digest,
            output=None,
            kb_version=self.versions.kb,
            code_version=self.versions.code,
            where=where,
        )
        error: Exception | None = None
        try:
            work = STEPS[step.does](env)
            result = await (asyncio.wait_for(work, step.timeout_s) if step.durable else work)
        except Exception as exc:
            row.status, row.error, error = "failed", type(exc).__name__, exc
        else:
            row.output, row.model, row.prompt_version = result.output, result.model, result.prompt_version
        row.duration_ms = round((time.perf_counter() - began) * 1000, 3)
        self.telemetry.emit(graph.kind, row)
        return Executed(row, error)

    async def _record_best_effort(self, run: RunRecord, rows: list[StepRecord]) -> None:
        try:
            await self.audit.begin(run, rows, outbox=False)
        except Exception as exc:
            log.warning("could not record a run", extra={"error": type(exc).__name__})
            self._unrecorded.append((run, rows))

    # ---- background: retries of what could not be recorded or handed over -----------------------
    async def pump(self) -> int:
        """One pass: record runs kept in memory, hand over due outbox rows; how many were handed over."""
        while self._unrecorded:
            run, rows = self._unrecorded[0]
            durable = [n for n in run.steps if RUNS[run.kind].step(n).durable]
            try:
                await self.audit.begin(run, rows, outbox=bool(durable))
            except Exception:
                return 0
            self._unrecorded.pop(0)
        handed = 0
        for run_id in await self.audit.due(now=_now(), limit=PUMP_BATCH):
            if run_id in self._active:
                continue
            recorded = await self.audit.run(run_id)
            if recorded is None:
                continue
            durable = [n for n in recorded.steps if RUNS[recorded.kind].step(n).durable]
            self._active.add(run_id)
            done = [r for r in await self.audit.steps(run_id) if r.step not in durable]
            await self._deliver(recorded, durable, done)
            handed += 1
        OUTBOX.set(await self.audit.pending())
        return handed

    async def pump_forever(self, interval_s: float = 2.0) -> None:
        while True:
            try:
                await self.pump()
            except Exception as exc:  # the database is down: try again later
                log.warning("run outbox unavailable", extra={"error": type(exc).__name__})
            await asyncio.sleep(interval_s)

    async def drain(self) -> None:
        """Wait for the durable work this process is delivering (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _defers(outputs: dict[str, Json]) -> bool:
    """The context step left work for the background (see ``deferred`` in the graph)."""
    context = outputs.get("context")
    return isinstance(context, dict) and bool(context.get("deferred") or context.get("partial"))


def _now() -> float:
    return datetime.now(UTC).timestamp()


async def _quietly(work: Awaitable[None]) -> None:
    try:
        await work
    except Exception as exc:
        log.warning("run outbox unavailable", extra={"error": type(exc).__name__})
