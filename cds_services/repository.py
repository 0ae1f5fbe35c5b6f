"""Storage of issued cards and feedback (keyword-only repository functions over an AsyncSession)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cds_services.models import FeedbackItem
from cds_services.service import IssuedCard
from cds_services.tables import CdsCardRow, CdsFeedbackRow
from fhir_ops.store.concurrency import lock_keys


async def record_issued_cards(
    session: AsyncSession,
    *,
    service_id: str,
    hook_instance: str,
    patient_id: str | None,
    evaluated_encounter: str | None,
    issued: Sequence[IssuedCard],
    now: datetime,
) -> None:
    """Add the cards of one call; the cards of an earlier evaluation of the same encounter are superseded.

    Concurrent calls for one encounter take turns (an advisory lock on PostgreSQL; SQLite has one writer),
    so exactly one card set stays current."""
    if evaluated_encounter is not None:
        await lock_keys(session, [f"cds-card-set/{service_id}/{evaluated_encounter}"])
        await session.execute(
            update(CdsCardRow)
            .where(
                CdsCardRow.encounter_id == evaluated_encounter,
                CdsCardRow.service_id == service_id,
                CdsCardRow.superseded_at.is_(None),
            )
            .values(superseded_at=now)
        )
    for item in issued:
        assert item.card.uuid is not None
        session.add(
            CdsCardRow(
                uuid=item.card.uuid,
                service_id=service_id,
                hook_instance=hook_instance,
                encounter_id=item.encounter_id,
                patient_id=patient_id,
                indicator_key=item.indicator_key,
                severity=item.card.indicator,
                summary=item.card.summary,
                suggestion_ids=list(item.suggestion_ids),
                created_at=now,
            )
        )


async def open_findings(
    session: AsyncSession, *, service_id: str, encounter_ids: Sequence[str]
) -> list[CdsCardRow]:
    """Current (not superseded) cards of ``service_id`` on these encounters that nobody overrode."""
    if not encounter_ids:
        return []
    overridden = exists().where(
        CdsFeedbackRow.card_uuid == CdsCardRow.uuid, CdsFeedbackRow.outcome == "overridden"
    )
    result = await session.execute(
        select(CdsCardRow)
        .where(
            CdsCardRow.service_id == service_id,
            CdsCardRow.encounter_id.in_(list(encounter_ids)),
            CdsCardRow.superseded_at.is_(None),
            ~overridden,
        )
        .order_by(CdsCardRow.created_at.desc(), CdsCardRow.uuid)
    )
    return list(result.scalars())


async def cards_by_uuid(session: AsyncSession, *, uuids: Sequence[str]) -> dict[str, CdsCardRow]:
    result = await session.execute(select(CdsCardRow).where(CdsCardRow.uuid.in_(list(uuids))))
    return {row.uuid: row for row in result.scalars()}


async def existing_feedback(session: AsyncSession, *, uuids: Sequence[str]) -> set[tuple[str, str, datetime]]:
    """(card, outcome, outcomeTimestamp) of the feedback already stored for these cards."""
    result = await session.execute(
        select(CdsFeedbackRow.card_uuid, CdsFeedbackRow.outcome, CdsFeedbackRow.outcome_timestamp).where(
            CdsFeedbackRow.card_uuid.in_(list(uuids))
        )
    )
    return {(card, outcome, naive_utc(ts)) for card, outcome, ts in result.all()}


def add_feedback(
    session: AsyncSession, *, item: FeedbackItem, card: CdsCardRow, received_at: datetime
) -> None:
    override: dict[str, Any] | None = (
        item.overrideReason.model_dump(mode="json", exclude_none=True) if item.overrideReason else None
    )
    session.add(
        CdsFeedbackRow(
            card_uuid=card.uuid,
            service_id=card.service_id,
            indicator_key=card.indicator_key,
            outcome=item.outcome,
            override_reason=override,
            accepted_suggestions=[s.id for s in item.acceptedSuggestions or []] or None,
            outcome_timestamp=item.outcomeTimestamp,
            received_at=received_at,
        )
    )


def naive_utc(value: datetime) -> datetime:
    """Comparable timestamps whatever the backend returns (SQLite drops the zone)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
