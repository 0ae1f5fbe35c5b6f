"""Population and subject-list reports over the indicator patients, validated with R4B; scoring edges."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.measurereport import MeasureReport

from fhir_ops.errors import BadRequest, NotFound
from measures.engine import CqlEngine
from measures.evaluate import evaluate_measure
from measures.scoring import proportion_score
from tests.measures.memory_repo import MemoryRepository


def pop(group: dict[str, Any], code: str) -> dict[str, Any]:
    return next(p for p in group["population"] if p["code"]["coding"][0]["code"] == code)


def test_qm_ig_example_scores_half() -> None:
    counts = {
        "initial-population": 7,
        "denominator": 6,
        "denominator-exclusion": 1,
        "numerator": 3,
        "numerator-exclusion": 1,
        "denominator-exception": 1,
    }
    assert proportion_score(counts) == 0.5


@pytest.mark.parametrize(
    "counts",
    [
        {"denominator": 0},
        {"denominator": 2, "denominator-exclusion": 1, "denominator-exception": 1, "numerator": 0},
    ],
)
def test_zero_divisor_has_no_score(counts: dict[str, int]) -> None:
    assert proportion_score(counts) is None


async def test_population_summary_counts_encounters(seeded_repo: MemoryRepository, cql: CqlEngine) -> None:
    report = await evaluate_measure(
        seeded_repo,
        cql=cql,
        measure_id="medqc-pci-angiographic-success",
        period_start="2024-01-01",
        period_end="2024-12-31",
        report_type=None,
        subject=None,
    )
    MeasureReport.model_validate(report)
    assert report["type"] == "summary"
    assert report["measure"] == "http://medqc.org/fhir/Measure/medqc-pci-angiographic-success|1.0.0"
    assert report["improvementNotation"]["coding"][0]["code"] == "increase"
    group = report["group"][0]
    # 9 PCI stays: 1 excluded (minor); numerator: stent 10%, balloon 40%, stent 19.9%, balloon 20%.
    assert pop(group, "initial-population")["count"] == 9
    assert pop(group, "denominator")["count"] == 9
    assert pop(group, "denominator-exclusion")["count"] == 1
    assert pop(group, "numerator")["count"] == 4
    assert group["measureScore"]["value"] == pytest.approx(4 / 8)
    assert "evaluatedResource" not in report


async def test_subject_list_references_contained_lists(seeded_repo: MemoryRepository, cql: CqlEngine) -> None:
    report = await evaluate_measure(
        seeded_repo,
        cql=cql,
        measure_id="medqc-stemi-discharge-medications",
        period_start="2024",
        period_end="2024",
        report_type="subject-list",
        subject=None,
    )
    MeasureReport.model_validate(report)
    assert report["type"] == "subject-list"
    lists = {c["id"]: c for c in report["contained"]}
    aspirin = next(g for g in report["group"] if g["id"] == "aspirin")
    exception = pop(aspirin, "denominator-exception")
    assert exception["count"] == 1
    listed = lists[exception["subjectResults"]["reference"].removeprefix("#")]
    assert [e["item"]["reference"] for e in listed["entry"]] == ["Encounter/st-exc-enc"]
    # 4 STEMI stays; 1 died (excluded), 1 aspirin allergy (exception), 2 with aspirin: 2 / (4 - 1 - 1)
    assert aspirin["measureScore"]["value"] == 1.0


async def test_stratifier_counts(seeded_repo: MemoryRepository, cql: CqlEngine) -> None:
    report = await evaluate_measure(
        seeded_repo,
        cql=cql,
        measure_id="medqc-cap-severity",
        period_start="2024",
        period_end="2024",
        report_type="population",
        subject=None,
    )
    group = report["group"][0]
    assert pop(group, "initial-population")["count"] == 4
    stratum = group["stratifier"][0]["stratum"][0]
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in stratum["population"]}
    assert counts["initial-population"] == 2  # cap-pos and cap-neg are 65+
    assert counts["numerator"] == 1


async def test_group_subject_and_individual_evidence(seeded_repo: MemoryRepository, cql: CqlEngine) -> None:
    seeded_repo.put(
        {
            "resourceType": "Group",
            "id": "nvaf-cohort",
            "type": "person",
            "actual": True,
            "member": [
                {"entity": {"reference": "Patient/nvaf-pos"}},
                {"entity": {"reference": "Patient/nvaf-neg"}},
            ],
        }
    )
    summary = await evaluate_measure(
        seeded_repo,
        cql=cql,
        measure_url="http://medqc.org/fhir/Measure/medqc-nvaf-stroke-risk",
        period_start="2024",
        period_end="2024",
        report_type=None,
        subject="Group/nvaf-cohort",
    )
    assert summary["type"] == "summary"
    assert pop(summary["group"][0], "denominator")["count"] == 2
    individual = await evaluate_measure(
        seeded_repo,
        cql=cql,
        measure_id="medqc-nvaf-stroke-risk",
        period_start="2024",
        period_end="2024",
        report_type=None,
        subject="Patient/nvaf-pos",
    )
    refs = {e["reference"] for e in individual["evaluatedResource"]}
    # cql-execution records the resources of top-level retrieves (not those retrieved inside a where).
    assert {"Patient/nvaf-pos", "Encounter/nvaf-pos-enc"} <= refs, refs


async def test_zero_denominator_report_has_no_score(seeded_repo: MemoryRepository, cql: CqlEngine) -> None:
    report = await evaluate_measure(
        seeded_repo,
        cql=cql,
        measure_id="medqc-stroke-nihss",
        period_start="2023",
        period_end="2023",
        report_type="population",
        subject=None,
    )
    assert pop(report["group"][0], "denominator")["count"] == 0
    assert "measureScore" not in report["group"][0]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"measure_id": "nope"}, NotFound),
        ({"measure_id": "medqc-stroke-nihss", "report_type": "everything"}, BadRequest),
        ({"measure_id": "medqc-stroke-nihss", "report_type": "subject"}, BadRequest),
        ({"measure_id": "medqc-stroke-nihss", "period_start": "March"}, BadRequest),
        ({"measure_id": "medqc-stroke-nihss", "subject": "Practitioner/x"}, BadRequest),
        ({"measure_url": "http://medqc.org/fhir/Measure/none"}, NotFound),
    ],
)
async def test_bad_input(
    seeded_repo: MemoryRepository, cql: CqlEngine, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    args: dict[str, Any] = {
        "period_start": "2024",
        "period_end": "2024",
        "report_type": None,
        "subject": None,
    }
    with pytest.raises(error):
        await evaluate_measure(seeded_repo, cql=cql, **{**args, **kwargs})
