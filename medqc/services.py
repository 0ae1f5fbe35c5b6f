"""The services of one running MedQC process, built in the app lifespan (or by the CLI)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from agents.discharge import DischargeJudge
from agents.verifiers.policy import VerificationPolicy, default_policy
from cds_services.qc_adapter import IndicatorMeta, QcEvaluator
from conformance.capability import capability_statement
from fhir_ops.data_access.embedded import RepositorySource
from fhir_ops.data_access.record import ClinicalDataSource
from fhir_ops.data_access.upstream import UpstreamSource
from fhir_ops.operations.catalog import default_registry
from fhir_ops.operations.registry import OperationRegistry
from fhir_ops.store.sql_repository import SqlRepository, WriteHook
from measures.catalog import indicator_specs
from measures.library_content import cql_of
from measures.library_loader import prepare_library
from measures.library_resolver import included_sources
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
    fast_policy: VerificationPolicy = field(default_factory=default_policy)
    full_policy: VerificationPolicy | None = None

    def policy(self) -> VerificationPolicy:
        """The policy of FHIR operations: the full one (with the language model) when configured."""
        return self.full_policy or self.fast_policy

    def policy_name(self) -> str:
        return "full" if self.full_policy is not None else "fast"

    def capability_statement(self) -> dict[str, Any]:
        return capability_statement(
            base_url=self.settings.fhir_base, registry=self.registry, software_version=version("medqc")
        )

    async def close(self) -> None:
        from agents.llm.wiring import close_gateways
        from measures.engine import get_worker

        await close_gateways()
        await get_worker().close()
        await self.db.dispose()


def library_hook(repo: SqlRepository) -> WriteHook:
    """Translate a Library's CQL on load, with the CQL of the libraries it includes (found by name)."""

    async def hook(resource: dict[str, Any]) -> dict[str, Any]:
        cql = cql_of(resource)
        includes = await included_sources(repo, cql, skip={str(resource.get("name"))}) if cql else []
        return await prepare_library(resource, includes=includes)

    return hook


async def language_model_policy(settings: Settings) -> VerificationPolicy | None:
    """The hybrid policy (structured, lexical, then the model) when a language model is configured; its
    retrieval index is loaded (or built) now rather than on the first request."""
    if not settings.llm_base_url:
        return None
    from agents.llm import wiring

    await asyncio.to_thread(wiring.shared_index)
    return wiring.hybrid_policy()


def cds_evaluator(services: Services) -> QcEvaluator:
    """The CDS Hooks evaluator: the discharge judge, with card texts from the indicator catalog."""
    judge = DischargeJudge(services.repo, fast=services.fast_policy, full=services.full_policy)
    meta = {
        spec.canonical: IndicatorMeta(
            key=spec.key,
            title=spec.title,
            core=spec.core,
            definition=spec.text.definition,
            definition_url=f"{services.settings.fhir_base}/Measure/{spec.id}",
        )
        for spec in indicator_specs()
    }
    return QcEvaluator(evaluate=judge, indicator=lambda canonical: meta.get(canonical.split("|")[0]))


async def build_services(settings: Settings, *, migrate: bool = True, seed: bool | None = None) -> Services:
    from medqc.seed import seed_store

    db = Database(settings.database_url)
    if migrate:
        await upgrade_to_head(db.engine)
    repo = SqlRepository(
        db,
        default_count=settings.page_size_default,
        max_count=settings.page_size_max,
    )
    repo.write_hooks["Library"] = library_hook(repo)
    data_source: ClinicalDataSource
    if settings.fhir_upstream:
        data_source = UpstreamSource(settings.fhir_upstream, token=settings.fhir_upstream_token)
    else:
        data_source = RepositorySource(repo)
    services = Services(
        settings=settings,
        db=db,
        repo=repo,
        registry=default_registry(),
        data_source=data_source,
        full_policy=await language_model_policy(settings),
    )
    if settings.seed_catalog if seed is None else seed:
        await seed_store(services)
    return services
