"""A population rating on Ray (2 local workers, partitioned by patient) equals ``$evaluate-measure`` in
one process on the same store and period: same populations, same needs-review stratum.

The store holds never-judged synthetic STEMI and stroke stays generated from the CMQCIC dev notes
(some patients with two stays, discharges across a year). The Ray run judges every encounter (fact
Observations written by the tasks), and the single-process evaluation then reads those Observations
through its own patient gathering and the published Measure's CQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.scale.ray_run import partition_by_patient, rate_population
from bench.bench_population import load, synthetic_stays
from measures.evaluate import evaluate_measure
from measures.period import parse_period
from medqc.report_view import rate_of
from medqc.services import build_services
from tests.conftest import make_settings

pytestmark = pytest.mark.slow
MEASURE = "stemi-reperfusion-24h"
STAYS = 36


def test_partitions_keep_a_patients_stays_together() -> None:
    stays = [r for r in synthetic_stays(12, tag="t") if r["resourceType"] == "Encounter"]
    parts = partition_by_patient(stays, 2)
    assert sum(len(ids) for part in parts for ids in part.values()) == 12
    assert parts[0] == {"t-p0a": ["t-e0", "t-e1"], "t-p10b": ["t-e10"]}
    assert all(len(part) <= 2 for part in parts)


async def test_ray_run_equals_single_process_evaluate_measure(tmp_path: Path) -> None:
    settings = make_settings("sqlite", tmp_path)
    services = await build_services(settings)
    try:
        await load(services.repo, synthetic_stays(STAYS, diseases={"stemi", "stk"}))
        measure = await services.repo.read("Measure", MEASURE)
        period = parse_period("2026-01-01", "2026-12-31")

        run = await rate_population(settings, services.repo, measure, period, workers=2, partition_patients=4)
        single = await evaluate_measure(
            services.repo,
            measure_id=MEASURE,
            period_start="2026-01-01",
            period_end="2026-12-31",
            report_type="population",
            subject=None,
            cql=services.cql,
        )
    finally:
        await services.close()

    assert run.encounters == STAYS
    assert sum(p.judged for p in run.partitions) == STAYS  # every stay judged once, by the tasks
    assert len(run.partitions) > 2
    ray_rate, single_rate = rate_of(run.report), rate_of(single)
    assert ray_rate == single_rate
    assert ray_rate.denominator > 0
    assert ray_rate.needs_review > 0
    assert ray_rate.numerator > 0
    assert run.report["group"] == single["group"]  # populations, score and strata alike
    assert run.report["type"] == "summary"
    assert run.report["period"] == single["period"]
