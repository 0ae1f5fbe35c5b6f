"""A CDS service: its discovery entry, the context it requires, and its handler (no FastAPI here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cds_services.cards import CardContext
from cds_services.findings import Evaluator
from cds_services.models import Card, HookRequest, ServiceDescriptor
from fhir_ops.data_access.record import ClinicalDataSource
from fhir_ops.store.database import Database


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """A card and what it is about, recorded so feedback and open findings can refer to it."""

    card: Card
    indicator_key: str
    encounter_id: str | None
    suggestion_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class HookCall:
    """Everything a handler needs for one call."""

    service_id: str
    request: HookRequest
    source: ClinicalDataSource
    database: Database
    cards: CardContext
    evaluator: Evaluator | None = None


@dataclass(slots=True)
class HookOutcome:
    issued: list[IssuedCard] = field(default_factory=list)


class HookHandler(Protocol):
    async def __call__(self, call: HookCall) -> HookOutcome: ...


@dataclass(frozen=True, slots=True)
class CdsService:
    id: str
    hook: str
    title: str
    description: str
    prefetch: Mapping[str, str]
    required_context: tuple[str, ...]
    handler: HookHandler
    usage_requirements: str | None = None

    def descriptor(self) -> ServiceDescriptor:
        return ServiceDescriptor(
            hook=self.hook,
            title=self.title,
            description=self.description,
            id=self.id,
            prefetch=dict(self.prefetch),
            usageRequirements=self.usage_requirements,
        )
