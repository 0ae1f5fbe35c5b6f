"""Rate one catalog indicator over a period's population on Ray, partitioned by patient.

The driver finds the encounters discharged in the period (the same test the single-process rating
uses), groups them by patient, cuts the patients into partitions and submits one Ray task per
partition (at most ``2 × workers`` in flight, so the queue of pending results stays bounded). Each task
(:func:`agents.scale.partition.rate_partition`) builds its own database and CQL engine; what comes back
is one small :class:`Membership` per encounter, merged into the summary MeasureReport by the report code
of ``$evaluate-measure``.

Cluster: ``address`` (``MEDQC_RAY_ADDRESS``) joins a running cluster (``ray start --head`` / ``ray
start --address``, see the README); unset, a local cluster with ``num_cpus = workers`` is started and
shut down afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ray

from agents.population import period_encounters
from agents.scale.membership import Membership, PartitionJob, PartitionResult, patient_results
from agents.scale.partition import rate_partition
from fhir_ops.data_access.embedded import RepositorySource
from fhir_ops.data_access.record import Resource
from fhir_ops.errors import BusinessRuleViolation
from fhir_ops.store.protocol import ResourceRepository
from measures.catalog.evaluation import catalog_indicator
from measures.period import Period
from measures.report import build_measure_report
from medqc.settings import Settings

#: Patients per partition (one Ray task): large enough that a task's start-up (database engine, Node
#: worker, cached ELM) is small beside its work, small enough that a failed task costs little.
PARTITION_PATIENTS = 200
#: The most partitions one run submits (a bound on the driver's loop).
MAX_PARTITIONS = 100_000


@dataclass(slots=True)
class PopulationRun:
    """A rating's summary MeasureReport and what each partition took."""

    report: dict[str, Any]
    partitions: list[PartitionResult]
    encounters: int
    seconds: float


def patient_of(encounter: Resource) -> str:
    """The patient id an encounter's ``subject`` names (``""`` when it names none)."""
    reference = str((encounter.get("subject") or {}).get("reference") or "")
    return reference.removeprefix("Patient/") if reference.startswith("Patient/") else ""


def partition_by_patient(encounters: list[Resource], size: int) -> list[dict[str, list[str]]]:
    """Encounters grouped by patient, ``size`` patients per partition, patients in a stable order (every
    encounter of a patient in the same partition: the CQL sees the patient whole)."""
    by_patient: dict[str, list[str]] = {}
    for encounter in encounters:
        patient = patient_of(encounter)
        if patient:
            by_patient.setdefault(patient, []).append(str(encounter.get("id")))
    patients = sorted(by_patient)
    return [
        {p: by_patient[p] for p in patients[i : i + size]} for i in range(0, len(patients), max(size, 1))
    ][:MAX_PARTITIONS]


def _run_partition(settings: Settings, job: PartitionJob) -> PartitionResult:
    """The Ray task body: one event loop per task."""
    return asyncio.run(rate_partition(settings, job))


@contextmanager
def ray_cluster(address: str | None, workers: int) -> Iterator[None]:
    """Connected to ``address``, or to a local cluster of ``workers`` CPUs started (and stopped) here."""
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(
                num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
            )
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _submit_all(
    settings: Settings,
    jobs: list[PartitionJob],
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> list[PartitionResult]:
    """Every job on the cluster, at most ``2 × workers`` in flight; results in job order."""
    remote = ray.remote(num_cpus=1, max_retries=1)(_run_partition)
    pending: list[Any] = []
    done: list[PartitionResult] = []
    queue = list(reversed(jobs))
    for _ in range(2 * len(jobs) + 1):  # each pass submits or collects at least one job
        while queue and len(pending) < 2 * workers:
            pending.append(remote.remote(settings, queue.pop()))
        if not pending:
            break
        ready, pending = ray.wait(pending, num_returns=1)
        done.extend(ray.get(ready))
        if progress is not None:
            progress(len(done), len(jobs))
    return sorted(done, key=lambda r: r.index)


async def rate_population(
    settings: Settings,
    repo: ResourceRepository,
    measure: dict[str, Any],
    period: Period,
    *,
    workers: int,
    address: str | None = None,
    partition_patients: int = PARTITION_PATIENTS,
    progress: Callable[[int, int], None] | None = None,
) -> PopulationRun:
    """The summary MeasureReport of a catalog ``measure`` for ``period``, computed on Ray."""
    spec = catalog_indicator(measure)
    if spec is None:
        raise BusinessRuleViolation(f"Measure/{measure.get('id')} is not a catalog indicator")
    started = time.perf_counter()
    encounters = await period_encounters(RepositorySource(repo), period.start, period.end)
    jobs = [
        PartitionJob(
            index=i,
            indicator_id=spec.id,
            encounters=part,
            period_start=period.fqm_start(),
            period_end=period.fqm_end(),
        )
        for i, part in enumerate(partition_by_patient(encounters, partition_patients))
    ]
    with ray_cluster(address, workers):
        results = await asyncio.to_thread(_submit_all, settings, jobs, workers, progress)
    members: list[Membership] = [m for r in results for m in r.memberships]
    report = build_measure_report(measure, patient_results(members), period=period, report_type="summary")
    return PopulationRun(report, results, len(encounters), round(time.perf_counter() - started, 3))
