"""The submission ledger: every report MedQC sent (or tried to send) to a platform, and the answer.

One row per attempt at one report: when, to which platform, which measure and period, the content
digest and the report itself, the outcome and the platform's answer. Rejected and failed attempts are
rows too, so nothing that was meant to be sent is lost. Schema changes go through Alembic
(``medqc/migrations/versions/0004_reporting.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from fhir_ops.store.database import Base, Database

#: accepted: the platform stored it (created/updated/unchanged); rejected: the platform refused it
#: (4xx); failed: no answer after the retries (network, 5xx, deadline).
Outcome = Literal["accepted", "rejected", "failed"]


class SubmissionRow(Base):
    __tablename__ = "report_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    platform: Mapped[str] = mapped_column(String(512))
    measure_id: Mapped[str] = mapped_column(String(64))
    report_key: Mapped[str] = mapped_column(String(1024))
    report_id: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[str] = mapped_column(String(40))
    period_end: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the platform's per-report answer (created / updated / unchanged) when accepted
    platform_result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    approved_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_report_submissions_key", "platform", "report_id", "submitted_at"),)


@dataclass(frozen=True, slots=True)
class Submission:
    """A ledger row as the rest of MedQC sees it."""

    id: int
    submitted_at: datetime
    platform: str
    measure_id: str
    report_id: str
    period_start: str
    period_end: str
    digest: str
    outcome: str
    http_status: int | None
    platform_result: str | None
    attempts: int
    approved_by: str | None
    report: dict[str, Any]
    response: dict[str, Any] | None

    @classmethod
    def of(cls, row: SubmissionRow) -> Submission:
        return cls(
            id=row.id,
            submitted_at=row.submitted_at,
            platform=row.platform,
            measure_id=row.measure_id,
            report_id=row.report_id,
            period_start=row.period_start,
            period_end=row.period_end,
            digest=row.digest,
            outcome=row.outcome,
            http_status=row.http_status,
            platform_result=row.platform_result,
            attempts=row.attempts,
            approved_by=row.approved_by,
            report=row.report,
            response=row.response,
        )


class Ledger:
    """Repository functions over ``report_submissions`` (keyword-only, one session per call)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        *,
        platform: str,
        measure_id: str,
        report_key: str,
        report: dict[str, Any],
        digest: str,
        outcome: Outcome,
        http_status: int | None,
        platform_result: str | None,
        attempts: int,
        approved_by: str | None,
        response: dict[str, Any] | None,
    ) -> Submission:
        period = report.get("period") or {}
        row = SubmissionRow(
            submitted_at=datetime.now(UTC),
            platform=platform,
            measure_id=measure_id,
            report_key=report_key,
            report_id=str(report.get("id", "")),
            period_start=str(period.get("start", "")),
            period_end=str(period.get("end", "")),
            digest=digest,
            outcome=outcome,
            http_status=http_status,
            platform_result=platform_result,
            attempts=attempts,
            approved_by=approved_by,
            report=report,
            response=response,
        )
        async with self._db.writer() as session:
            session.add(row)
            await session.commit()
            await session.refresh(row)
            return Submission.of(row)

    async def last_accepted(self, *, platform: str, report_id: str) -> Submission | None:
        """The newest submission of this report the platform accepted (the baseline of a diff)."""
        query = (
            select(SubmissionRow)
            .where(
                SubmissionRow.platform == platform,
                SubmissionRow.report_id == report_id,
                SubmissionRow.outcome == "accepted",
            )
            .order_by(SubmissionRow.submitted_at.desc(), SubmissionRow.id.desc())
            .limit(1)
        )
        async with self._db.session() as session:
            row = (await session.execute(query)).scalar_one_or_none()
            return Submission.of(row) if row is not None else None

    async def entries(self, *, platform: str | None = None, limit: int = 100) -> list[Submission]:
        """The newest ``limit`` rows (of one platform, or all), newest first."""
        query = select(SubmissionRow).order_by(SubmissionRow.submitted_at.desc(), SubmissionRow.id.desc())
        if platform is not None:
            query = query.where(SubmissionRow.platform == platform)
        async with self._db.session() as session:
            rows = (await session.execute(query.limit(limit))).scalars().all()
            return [Submission.of(row) for row in rows]
