"""The services of one running MedQC process, built in the app lifespan (or by the CLI)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from agents.llm.wiring import LanguageModel
from agents.orchestration.audit import AuditStore
from agents.orchestration.runner import Orchestrator
from agents.orchestration.runs import encounter_discharge, population_rating
from agents.orchestration.telemetry import StepTelemetry, tracer_provider
from agents.orchestration.versions import check_pins, current_versions
from agents.population import patients_of, period_encounters
from agents.qc_evaluate import CqlJudge
from agents.verifiers.policy import VerificationPolicy, default_policy
from cds_services.qc_adapter import IndicatorMeta, QcEvaluator
from conformance.capability import capability_statement
from fhir_ops.data_access.embedded import RepositorySource
from fhir_ops.data_access.record import EncounterRecord
from fhir_ops.data_access.searching import SearchingSource
from fhir_ops.data_access.upstream import UpstreamSource
from fhir_ops.operations.registry import OperationRegistry
from fhir_ops.store.database import Database
from fhir_ops.store.sql_repository import SqlRepository
from fhir_ops.tracing import trace_id_var
from measures.catalog import indicator_specs
from measures.catalog.evaluation import CatalogEngine, catalog_indicator, disease_of
from measures.engine import CqlEngine
from measures.library_loader import library_write_hook
from measures.period import Period
from medqc.migrate import upgrade_to_head
from medqc.operations import build_registry
from medqc.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    repo: SqlRepository
    registry: OperationRegistry
    data_source: SearchingSource
    cql: CqlEngine
    catalog: CatalogEngine
    judge: CqlJudge
    model: LanguageModel
    fast_policy: VerificationPolicy = field(default_factory=default_policy)
    full_policy: VerificationPolicy | None = None
    #: every run (hook, operations, population rating) goes through it (agents/orchestration)
    orchestrator: Orchestrator = field(init=False)

    def policy(self) -> VerificationPolicy:
        """The policy of FHIR operations: the full one (with the language model) when configured."""
        return self.full_policy or self.fast_policy

    def policy_name(self) -> str:
        return "full" if self.full_policy is not None else "fast"

    def capability_statement(self) -> dict[str, Any]:
        return capability_statement(
            base_url=self.settings.fhir_base, registry=self.registry, software_version=version("medqc")
        )

    async def before_rating(self, measure: dict[str, Any], period: Period) -> list[str] | None:
        """Before a catalog indicator is rated for a period, make the fact Observations of the
        encounters discharged in it current (see :func:`agents.population.judge_period`). Returns
        the patients of those encounters — the only ones an encounter-based indicator's populations
        can hold (``evaluate_measure``'s ``candidates``) — or None for any other Measure."""
        spec = catalog_indicator(measure)
        if spec is None:
            return None
        disease = disease_of(spec)
        specs = list(disease.indicators)
        await population_rating(self.orchestrator, specs, start=period.start, end=period.end)
        return patients_of(await period_encounters(self.data_source, period.start, period.end))

    async def close(self) -> None:
        await self.orchestrator.drain()
        self.orchestrator.telemetry.shutdown()
        await self.model.aclose()
        await self.cql.close()
        await self.db.dispose()


async def language_model_policy(model: LanguageModel) -> VerificationPolicy | None:
    """The hybrid policy (structured, lexical, then the model) when a language model is configured; its
    retrieval index is loaded (or built) now rather than on the first request."""
    if model.gateway is None:
        return None
    await asyncio.to_thread(model.index)
    return model.hybrid_policy()


def cds_evaluator(services: Services) -> QcEvaluator:
    """The CDS Hooks evaluator: the encounter-discharge run, with card texts from the indicator catalog."""
    orchestrator = services.orchestrator

    async def judge(record: EncounterRecord) -> dict[str, Any]:
        return await encounter_discharge(
            orchestrator,
            record,
            inline_diseases=services.settings.hook_inline_diseases,
            inline_note_chars=services.settings.hook_inline_note_chars,
        )

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

    check_pins(settings.version_pins, current_versions())
    db = Database(settings.database_url, statement_timeout_s=settings.db_statement_timeout_s)
    if migrate:
        await upgrade_to_head(db.engine)
    repo = SqlRepository(
        db,
        default_count=settings.page_size_default,
        max_count=settings.page_size_max,
    )
    cql = CqlEngine.from_settings(settings)
    model = LanguageModel(settings)
    repo.write_hooks["Library"] = library_write_hook(repo, cql)
    data_source: SearchingSource
    if settings.fhir_upstream:
        data_source = UpstreamSource(
            settings.fhir_upstream,
            token=settings.fhir_upstream_token,
            deadline_s=settings.upstream_deadline_s,
            max_pages=settings.upstream_max_pages,
        )
    else:
        data_source = RepositorySource(repo)
    services = Services(
        settings=settings,
        db=db,
        repo=repo,
        registry=build_registry(),
        data_source=data_source,
        cql=cql,
        catalog=(catalog := CatalogEngine(cql)),
        judge=CqlJudge(catalog, repo),
        model=model,
        full_policy=await language_model_policy(model),
    )
    services.orchestrator = Orchestrator(
        services,
        AuditStore(db),
        telemetry=StepTelemetry(tracer_provider(settings.otel_exporter_otlp_endpoint)),
        start_timeout_s=settings.temporal_start_timeout_s,
        trace_id=trace_id_var.get,
        max_note_bytes=settings.note_max_bytes,
    )
    if settings.seed_catalog if seed is None else seed:
        await seed_store(services)
    return services
