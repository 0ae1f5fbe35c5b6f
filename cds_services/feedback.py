"""``POST /cds-services/{id}/feedback``: persist every entry before answering 200."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from cds_services.errors import CdsBadRequestError
from cds_services.metrics import FEEDBACK_TOTAL
from cds_services.models import FeedbackRequest
from cds_services.repository import add_feedback, cards_by_uuid, existing_feedback, naive_utc
from fhir_ops.store.database import Database


async def record_feedback(database: Database, *, service_id: str, request: FeedbackRequest) -> int:
    """Store the feedback; returns how many entries were new (repeats of stored entries are accepted)."""
    for attempt in (1, 2):
        try:
            counted = await _store(database, service_id=service_id, request=request)
        except IntegrityError:  # the same entry committed concurrently: look again
            if attempt == 2:
                raise
            continue
        for indicator, outcome in counted:
            FEEDBACK_TOTAL.labels(indicator=indicator, outcome=outcome).inc()
        return len(counted)
    raise AssertionError("unreachable")


async def _store(database: Database, *, service_id: str, request: FeedbackRequest) -> list[tuple[str, str]]:
    uuids = sorted({item.card for item in request.feedback})
    now = datetime.now(UTC)
    async with database.writer() as session:
        cards = await cards_by_uuid(session, uuids=uuids)
        unknown = [u for u in uuids if u not in cards]
        if unknown:
            raise CdsBadRequestError(f"unknown card uuid(s): {', '.join(unknown[:10])}")
        foreign = [u for u in uuids if cards[u].service_id != service_id]
        if foreign:
            names = ", ".join(foreign[:10])
            raise CdsBadRequestError(f"card(s) not issued by service {service_id!r}: {names}")
        for item in request.feedback:
            offered = set(cards[item.card].suggestion_ids or [])
            bad = [s.id for s in item.acceptedSuggestions or [] if s.id not in offered]
            if bad:
                raise CdsBadRequestError(f"card {item.card} has no suggestion(s) {', '.join(bad)}")
        seen = await existing_feedback(session, uuids=uuids)
        counted: list[tuple[str, str]] = []
        for item in request.feedback:
            key = (item.card, item.outcome, naive_utc(item.outcomeTimestamp))
            if key in seen:
                continue
            seen.add(key)
            card = cards[item.card]
            add_feedback(session, item=item, card=card, received_at=now)
            counted.append((card.indicator_key, item.outcome))
        await session.commit()
    return counted
