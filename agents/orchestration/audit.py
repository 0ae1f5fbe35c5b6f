"""The audit of runs: one row per run (its inputs and versions), one row per executed step; append-only.

``audit_runs`` and ``audit_steps`` only grow: the migration (``0005_audit``) installs triggers that refuse
UPDATE and DELETE on both. A step that failed is a row too; a step that succeeded has exactly one row
(``ok_key`` = ``<run id>/<step>`` is unique), which is what makes a durable step idempotent: an activity
retried after the step was recorded returns the recorded output instead of doing the work again.

``run_outbox`` is the work queue of durable steps not yet handed to Temporal (or, without Temporal, not
yet run in-process): written in the same transaction as the run, deleted once the workflow is started.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from fhir_ops.store.database import Base, Database

Json = Any  # a JSON value (dict, list, str, number, bool, None)


def digest(value: Json) -> str:
    """sha256 of the canonical JSON of ``value`` (sorted keys), 32 hex digits."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


class AuditRunRow(Base):
    __tablename__ = "audit_runs"

    run_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    steps: Mapped[list[str]] = mapped_column(JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    versions: Mapped[dict[str, str]] = mapped_column(JSON)


class AuditStepRow(Base):
    __tablename__ = "audit_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(80))
    trace_id: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    ok_key: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float] = mapped_column(Float)
    input_digest: Mapped[str] = mapped_column(String(32))
    output_digest: Mapped[str | None] = mapped_column(String(32), nullable=True)
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kb_version: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(64))
    where: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_audit_steps_run", "run_id", "id"),)


class RunOutboxRow(Base):
    __tablename__ = "run_outbox"

    run_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    next_attempt_at: Mapped[float] = mapped_column(Float, index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    trace_id: str
    kind: str
    created_at: datetime
    steps: list[str]
    inputs: dict[str, Any]
    versions: dict[str, str]


@dataclass(slots=True)
class StepRecord:
    """One executed step, as recorded."""

    run_id: str
    trace_id: str
    step: str
    status: str
    started_at: datetime
    duration_ms: float
    input_digest: str
    output: Json
    kb_version: str
    code_version: str
    where: str
    error: str | None = None
    model: str | None = None
    prompt_version: str | None = None

    @property
    def output_digest(self) -> str | None:
        return digest(self.output) if self.status == "ok" else None

    def row(self) -> AuditStepRow:
        return AuditStepRow(
            run_id=self.run_id,
            trace_id=self.trace_id,
            step=self.step,
            status=self.status,
            ok_key=f"{self.run_id}/{self.step}" if self.status == "ok" else None,
            started_at=self.started_at,
            duration_ms=self.duration_ms,
            input_digest=self.input_digest,
            output_digest=self.output_digest,
            output=self.output if self.status == "ok" else None,
            error=self.error,
            model=self.model,
            prompt_version=self.prompt_version,
            kb_version=self.kb_version,
            code_version=self.code_version,
            where=self.where,
        )

    @classmethod
    def of(cls, row: AuditStepRow) -> StepRecord:
        return cls(
            run_id=row.run_id,
            trace_id=row.trace_id,
            step=row.step,
            status=row.status,
            started_at=row.started_at,
            duration_ms=row.duration_ms,
            input_digest=row.input_digest,
            output=row.output,
            kb_version=row.kb_version,
            code_version=row.code_version,
            where=row.where,
            error=row.error,
            model=row.model,
            prompt_version=row.prompt_version,
        )


def _run_of(row: AuditRunRow) -> RunRecord:
    return RunRecord(
        row.run_id, row.trace_id, row.kind, row.created_at, list(row.steps), dict(row.inputs), row.versions
    )


class AuditStore:
    """Appends runs and steps; reads them back for durable steps and replay."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def begin(
        self, run: RunRecord, steps: list[StepRecord], *, outbox: bool, settle_s: float = 0.0
    ) -> None:
        """Record the run, its steps so far and (``outbox``) its pending durable work, due after
        ``settle_s``, in one transaction."""
        async with self.db.writer() as session, session.begin():
            session.add(
                AuditRunRow(
                    run_id=run.run_id,
                    trace_id=run.trace_id,
                    kind=run.kind,
                    created_at=run.created_at,
                    steps=run.steps,
                    inputs=run.inputs,
                    versions=run.versions,
                )
            )
            session.add_all([s.row() for s in steps])
            if outbox:
                now = datetime.now(UTC).timestamp()
                session.add(
                    RunOutboxRow(
                        run_id=run.run_id, created_at=now, next_attempt_at=now + settle_s, attempts=0
                    )
                )

    async def append(self, step: StepRecord) -> StepRecord:
        """Append one step; when a success of the same step is already recorded, that one is returned."""
        try:
            async with self.db.writer() as session, session.begin():
                session.add(step.row())
        except IntegrityError:
            existing = await self.ok_step(step.run_id, step.step)
            if existing is None:
                raise
            return existing
        return step

    async def ok_step(self, run_id: str, step: str) -> StepRecord | None:
        async with self.db.session() as session:
            row = (
                await session.execute(select(AuditStepRow).where(AuditStepRow.ok_key == f"{run_id}/{step}"))
            ).scalar_one_or_none()
        return StepRecord.of(row) if row is not None else None

    async def outputs(self, run_id: str, steps: list[str]) -> dict[str, Json]:
        """The recorded outputs of the successful ``steps`` of the run."""
        if not steps:
            return {}
        keys = [f"{run_id}/{s}" for s in steps]
        async with self.db.session() as session:
            rows = (
                await session.execute(select(AuditStepRow).where(AuditStepRow.ok_key.in_(keys)))
            ).scalars()
            return {r.step: r.output for r in rows}

    async def run(self, run_id: str) -> RunRecord | None:
        async with self.db.session() as session:
            row = await session.get(AuditRunRow, run_id)
        return _run_of(row) if row is not None else None

    async def runs_of_trace(self, trace_id: str) -> list[RunRecord]:
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(AuditRunRow)
                    .where(AuditRunRow.trace_id == trace_id)
                    .order_by(AuditRunRow.created_at, AuditRunRow.run_id)
                )
            ).scalars()
            return [_run_of(r) for r in rows]

    async def steps(self, run_id: str) -> list[StepRecord]:
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(AuditStepRow).where(AuditStepRow.run_id == run_id).order_by(AuditStepRow.id)
                )
            ).scalars()
            return [StepRecord.of(r) for r in rows]

    # ---- the outbox ---------------------------------------------------------------------------------
    async def due(self, *, now: float, limit: int) -> list[str]:
        """Run ids whose durable work is due (oldest first)."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(RunOutboxRow.run_id)
                .where(RunOutboxRow.next_attempt_at <= now)
                .order_by(RunOutboxRow.created_at)
                .limit(limit)
            )
            return [r for (r,) in rows]

    async def postpone(self, run_id: str, *, delays: tuple[float, ...], error: str) -> None:
        """Count a failed attempt; the next one is due after ``delays[attempts]`` (the last one repeats)."""
        async with self.db.writer() as session, session.begin():
            row = await session.get(RunOutboxRow, run_id)
            if row is None:
                return
            delay = delays[min(row.attempts, len(delays) - 1)]
            await session.execute(
                update(RunOutboxRow)
                .where(RunOutboxRow.run_id == run_id)
                .values(
                    attempts=row.attempts + 1,
                    next_attempt_at=datetime.now(UTC).timestamp() + delay,
                    last_error=error[:200],
                )
            )

    async def done(self, run_id: str) -> None:
        async with self.db.writer() as session, session.begin():
            await session.execute(delete(RunOutboxRow).where(RunOutboxRow.run_id == run_id))

    async def pending(self) -> int:
        async with self.db.session() as session:
            return len((await session.execute(select(RunOutboxRow.run_id))).all())
