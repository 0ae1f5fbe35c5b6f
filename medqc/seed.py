"""Idempotent seeding of MedQC's own resources (OperationDefinitions, built-in Measures) at start-up."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fhir_ops.errors import FhirError

if TYPE_CHECKING:
    from medqc.services import Services

log = logging.getLogger(__name__)


def builtin_resources(services: Services) -> list[dict[str, Any]]:
    """Everything MedQC ships: OperationDefinitions and the built-in indicator catalog."""
    return [op.definition() for op in services.registry]


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


async def seed_store(services: Services) -> int:
    """Write each built-in resource whose content differs from the stored one; returns the count written."""
    written = 0
    for resource in builtin_resources(services):
        rtype, rid = resource["resourceType"], resource["id"]
        try:
            current = await services.repo.read(rtype, rid)
        except FhirError:
            current = None
        if current is not None and _without_meta(current) == _without_meta(resource):
            continue
        await services.repo.update(rtype, rid, resource)
        written += 1
    if written:
        log.info("seeded built-in resources", extra={"written": written})
    return written
