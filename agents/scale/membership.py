"""What a partition returns and how partitions merge into the summary MeasureReport.

A partition's result is small: per encounter, whether it is in the initial population, the
denominator, the numerator and the needs-review stratum of one indicator. The merge turns the
memberships back into the engine's per-patient results for the published Measure's single group, so
the summary report is built by the very code ``$evaluate-measure`` uses
(:func:`measures.report.build_measure_report`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from measures.engine import PatientResult
from measures.engine.models import EpisodeResult, GroupResult, PopulationResult, StratumResult

NEEDS_REVIEW_STRATIFIER = 0  # index of the needs-review stratifier in each indicator group


class Membership(BaseModel):
    """One encounter's populations for one indicator (the CQL's raw results)."""

    model_config = ConfigDict(frozen=True)

    patient_id: str
    encounter_id: str
    initial_population: bool
    denominator: bool
    numerator: bool
    needs_review: bool


class PartitionJob(BaseModel):
    """The work of one Ray task: these patients' period encounters, for one indicator."""

    model_config = ConfigDict(frozen=True)

    index: int
    indicator_id: str
    encounters: dict[str, list[str]]  # patient id → encounter ids discharged in the period
    period_start: str  # the engine's bounds (Period.fqm_start / fqm_end)
    period_end: str


class PartitionResult(BaseModel):
    """A task's answer: memberships and what it took (counts, seconds, peak memory)."""

    index: int
    memberships: list[Membership]
    encounters: int
    judged: int
    current: int
    failed: int
    seconds: float
    max_rss_mb: float  # the task's process (peak since it started)
    node_max_rss_mb: float  # its Node CQL workers
    pid: int


def patient_results(memberships: list[Membership]) -> list[PatientResult]:
    """Memberships as the engine's results for the published Measure (one group, Encounter episodes)."""
    by_patient: dict[str, list[Membership]] = {}
    for m in memberships:
        by_patient.setdefault(m.patient_id, []).append(m)
    return [
        PatientResult(
            patient_id=patient,
            groups=[
                GroupResult(
                    group_index=0,
                    group_id="main",
                    episode_results=[_episode(m) for m in members],
                )
            ],
        )
        for patient, members in sorted(by_patient.items())
    ]


def _episode(m: Membership) -> EpisodeResult:
    flags = (
        ("initial-population", m.initial_population),
        ("denominator", m.denominator),
        ("numerator", m.numerator),
    )
    return EpisodeResult(
        episode_id=m.encounter_id,
        population_results=[PopulationResult(population_type=code, result=flag) for code, flag in flags],
        stratifier_results=[StratumResult(index=NEEDS_REVIEW_STRATIFIER, result=m.needs_review)],
    )
