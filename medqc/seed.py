"""Idempotent seeding of MedQC's own resources (OperationDefinitions, built-in Measures) at start-up."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import orjson

from fhir_ops.errors import FhirError
from measures.library_content import with_elm

if TYPE_CHECKING:
    from medqc.services import Services

log = logging.getLogger(__name__)


def builtin_resources(services: Services) -> list[dict[str, Any]]:
    """Everything MedQC ships: OperationDefinitions and the indicator catalog generated from the specs (one
    Measure per CMQCIC indicator, one CQL Library per disease, their ValueSets and CodeSystems)."""
    from conformance.profiles import profile_resources
    from measures.catalog.measures import catalog_resources

    return [
        *(op.definition() for op in services.registry),
        *profile_resources(),
        *catalog_resources(),
    ]


SEED_TAG = "http://medqc.org/fhir/CodeSystem/seed-content"


def content_hash(resource: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _seed_hash(resource: dict[str, Any]) -> str | None:
    tags = (resource.get("meta") or {}).get("tag") or []
    return next((t.get("code") for t in tags if t.get("system") == SEED_TAG), None)


def dependency_order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Libraries after the libraries they include (their CQL is translated on load); the rest first."""
    from measures.library_content import cql_of
    from measures.library_resolver import cql_includes

    libraries = {str(r.get("name")): r for r in resources if r["resourceType"] == "Library"}
    ordered: list[dict[str, Any]] = [r for r in resources if r["resourceType"] != "Library"]
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in done or name not in libraries or name in trail:
            return
        cql = cql_of(libraries[name]) or ""
        for included, _ in cql_includes(cql):
            visit(included, (*trail, name))
        done.add(name)
        ordered.append(libraries[name])

    for name in libraries:
        visit(name, ())
    return ordered


def _with_catalog_elm(resource: dict[str, Any], elm: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if resource["resourceType"] == "Library" and resource.get("name") in elm:
        return with_elm(resource, elm[str(resource["name"])])
    return resource


async def seed_store(services: Services) -> int:
    """Write each built-in resource whose content differs from the stored one; returns the count written.

    The catalog's Libraries are written with their ELM, translated in one batch (and only when one of
    them changed): a fresh store starts in seconds, and the ELM is the one the judgements use."""
    pending: list[tuple[dict[str, Any], str]] = []
    for resource in dependency_order(builtin_resources(services)):
        rtype, rid = resource["resourceType"], resource["id"]
        digest = content_hash(resource)
        try:
            current = await services.repo.read(rtype, rid)
        except FhirError:
            current = None
        if current is None or _seed_hash(current) != digest:
            pending.append((resource, digest))
    if any(r["resourceType"] == "Library" for r, _ in pending):
        elm = await services.catalog.library_elm()
        pending = [(_with_catalog_elm(r, elm), d) for r, d in pending]
    for resource, digest in pending:
        meta = dict(resource.get("meta") or {})
        meta["tag"] = [*meta.get("tag", []), {"system": SEED_TAG, "code": digest}]
        await services.repo.update(resource["resourceType"], resource["id"], {**resource, "meta": meta})
    if pending:
        log.info("seeded built-in resources", extra={"written": len(pending)})
    return len(pending)
