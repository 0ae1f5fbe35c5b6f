"""One partition of a population run, in whichever process Ray runs it.

Everything is built here from :class:`~medqc.settings.Settings` (database engine and session, a CQL
engine with one Node worker): no live object crosses a process boundary. The steps are those of a
single-process rating: the partition's encounters are judged when their fact Observations are not
current (lexical verification, Observations written to the store), then the patients' Bundles are
gathered from the store exactly as ``$evaluate-measure`` gathers them and the disease's catalog CQL
runs over them in one engine call.
"""

from __future__ import annotations

import logging
import os
import resource
import time

from agents.population import CHUNK, JudgeStats, judge_encounters
from agents.scale.membership import NEEDS_REVIEW_STRATIFIER, Membership, PartitionJob, PartitionResult
from agents.verifiers.policy import default_policy
from fhir_ops.data_access.embedded import RepositorySource
from fhir_ops.store.database import Database
from fhir_ops.store.sql_repository import SqlRepository
from measures.catalog.evaluation import CatalogEngine, disease_of
from measures.catalog.loader import spec_for
from measures.elm_util import elm_retrieved_types
from measures.engine import CqlEngine, PatientResult, calculate_measure
from measures.patient_data import patient_bundles
from medqc.settings import Settings

log = logging.getLogger(__name__)


def memberships(results: list[PatientResult], indicator_id: str) -> list[Membership]:
    """Each episode of the indicator's group: its populations and needs-review stratum."""
    out: list[Membership] = []
    for result in results:
        for group in result.groups:
            if group.group_id != indicator_id:
                continue
            for episode in group.episode_results:
                pops = {p.population_type: p.result for p in episode.population_results}
                strata = {s.index: s.result for s in episode.stratifier_results}
                out.append(
                    Membership(
                        patient_id=result.patient_id,
                        encounter_id=episode.episode_id,
                        initial_population=pops.get("initial-population", False),
                        denominator=pops.get("denominator", False),
                        numerator=pops.get("numerator", False),
                        needs_review=bool(strata.get(NEEDS_REVIEW_STRATIFIER)),
                    )
                )
    return out


def _max_rss_mb(who: int) -> float:
    """Peak resident memory (Linux reports KiB) of this process or of its finished children (the Node
    CQL worker, once closed)."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


async def rate_partition(settings: Settings, job: PartitionJob) -> PartitionResult:
    """Judge, gather and evaluate one partition (see the module docstring)."""
    started = time.perf_counter()
    spec = spec_for(job.indicator_id)
    if spec is None:
        raise ValueError(f"{job.indicator_id} is not a catalog indicator")
    disease = disease_of(spec)
    db = Database(settings.database_url, statement_timeout_s=settings.db_statement_timeout_s)
    repo = SqlRepository(db, default_count=settings.page_size_default, max_count=settings.page_size_max)
    cql = CqlEngine(
        node=settings.node,
        timeout_s=settings.cql_timeout_s,
        elm_cache_dir=settings.elm_cache_dir,
        processes=1,
    )
    try:
        encounter_ids = [e for ids in job.encounters.values() for e in ids]
        source, stats = RepositorySource(repo), JudgeStats(encounters=len(encounter_ids))
        specs = list(disease.indicators)
        for done in range(0, len(encounter_ids), CHUNK):
            chunk = ",".join(encounter_ids[done : done + CHUNK])
            encounters = await source.search_all("Encounter", [("_id", chunk)])
            stats.failed += len(encounter_ids[done : done + CHUNK]) - len(encounters)
            await judge_encounters(source, repo, specs, default_policy(), encounters, stats)
        judged, current, failed = stats.judged, stats.current, stats.failed
        catalog = CatalogEngine(cql)
        prepared = await catalog.prepare(disease)
        elm = await catalog.library_elm()
        names = [
            str(e["resource"]["name"])
            for e in prepared.bundle["entry"]
            if e["resource"]["resourceType"] == "Library"
        ]
        data_types = set().union(*(elm_retrieved_types(elm[name]) for name in names))
        bundles = await patient_bundles(repo, list(job.encounters), data_types)
        results = await calculate_measure(
            prepared.bundle,
            bundles,
            period_start=job.period_start,
            period_end=job.period_end,
            include_evaluated=False,
            measure_key=prepared.key,
            cql=cql,
        )
    finally:
        await cql.close()
        await db.dispose()
    return PartitionResult(
        index=job.index,
        memberships=memberships(results, spec.id),
        encounters=len(encounter_ids),
        judged=judged,
        current=current,
        failed=failed,
        seconds=round(time.perf_counter() - started, 3),
        max_rss_mb=_max_rss_mb(resource.RUSAGE_SELF),
        node_max_rss_mb=_max_rss_mb(resource.RUSAGE_CHILDREN),
        pid=os.getpid(),
    )
