"""Database tables of the CDS Hooks service: the cards it issued and the feedback it received.

Schema changes go through Alembic (``medqc/migrations/versions/0002_cds.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fhir_ops.store.database import Base


class CdsCardRow(Base):
    """One card MedQC returned, so that feedback can be checked and open findings listed."""

    __tablename__ = "cds_cards"

    uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(128))
    hook_instance: Mapped[str] = mapped_column(String(128))
    encounter_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    patient_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    indicator_key: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(256))
    suggestion_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: set when a later evaluation of the same encounter by the same service replaced this card
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_cds_cards_encounter", "encounter_id", "service_id", "superseded_at"),
        Index("ix_cds_cards_patient", "patient_id"),
    )


class CdsFeedbackRow(Base):
    """One feedback entry (``outcome`` accepted | overridden) on a card MedQC issued."""

    __tablename__ = "cds_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_uuid: Mapped[str] = mapped_column(String(64), ForeignKey("cds_cards.uuid"), index=True)
    service_id: Mapped[str] = mapped_column(String(128))
    indicator_key: Mapped[str] = mapped_column(String(256))
    outcome: Mapped[str] = mapped_column(String(16))
    override_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    accepted_suggestions: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_cds_feedback_entry"),
    )
