"""The services of one running MedQC process, built in the app lifespan (or by the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from conformance.capability import capability_statement
from fhir_ops.data_access.embedded import RepositorySource
from fhir_ops.data_access.record import ClinicalDataSource
from fhir_ops.data_access.upstream import UpstreamSource
from fhir_ops.operations.catalog import default_registry
from fhir_ops.operations.registry import OperationRegistry
from fhir_ops.store.sql_repository import SqlRepository
from medqc.db import Database
from medqc.migrate import upgrade_to_head
from medqc.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    repo: SqlRepository
    registry: OperationRegistry
    data_source: ClinicalDataSource
    extras: dict[str, Any] = field(default_factory=dict)

    def capability_statement(self) -> dict[str, Any]:
        return capability_statement(
            base_url=self.settings.fhir_base, registry=self.registry, software_version=version("medqc")
        )

    async def close(self) -> None:
        await self.db.dispose()


def write_hooks() -> dict[str, Any]:
    """Per-type hooks run before a resource is stored (e.g. translate a Library's CQL)."""
    return {}


async def build_services(settings: Settings, *, migrate: bool = True, seed: bool | None = None) -> Services:
    from medqc.seed import seed_store

    db = Database(settings.database_url)
    if migrate:
        await upgrade_to_head(db.engine)
    repo = SqlRepository(
        db,
        default_count=settings.page_size_default,
        max_count=settings.page_size_max,
        write_hooks=write_hooks(),
    )
    data_source: ClinicalDataSource
    if settings.fhir_upstream:
        data_source = UpstreamSource(settings.fhir_upstream, token=settings.fhir_upstream_token)
    else:
        data_source = RepositorySource(repo)
    services = Services(
        settings=settings, db=db, repo=repo, registry=default_registry(), data_source=data_source
    )
    if settings.seed_catalog if seed is None else seed:
        await seed_store(services)
    return services
