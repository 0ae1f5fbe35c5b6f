"""The Quality Measure IG's proportion example (IP 7, Den 6, DenEx 1, Num 3, NumEx 1, DenExcep 1 → 0.5)
through the report builder, with a group and stratifiers that have no ids; ratio and continuous-variable
scores from measure observations."""

from __future__ import annotations

from typing import Any

import pytest

from measures.engine import PatientResult
from measures.period import parse_period
from measures.report import build_measure_report

POP = "http://terminology.hl7.org/CodeSystem/measure-population"
CODES = ("initial-population", "denominator", "denominator-exclusion", "numerator", "numerator-exclusion",
         "denominator-exception")  # fmt: skip
# Membership per patient, in CODES order: 7 IP, 6 Den, 1 DenEx, 3 Num, 1 NumEx, 1 DenExcep.
MEMBERS = {
    "p1": (1, 1, 0, 1, 0, 0),
    "p2": (1, 1, 0, 1, 0, 0),
    "p3": (1, 1, 0, 1, 1, 0),
    "p4": (1, 1, 1, 0, 0, 0),
    "p5": (1, 1, 0, 0, 0, 1),
    "p6": (1, 1, 0, 0, 0, 0),
    "p7": (1, 0, 0, 0, 0, 0),
}
SEX = {"p1": "F", "p2": "M", "p3": "F", "p4": "M", "p5": "F", "p6": "M", "p7": "F"}


def _measure(scoring: str = "proportion", **group: Any) -> dict[str, Any]:
    return {
        "resourceType": "Measure",
        "url": "http://example.org/Measure/qm-ig",
        "status": "active",
        "group": [
            {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-scoring",
                        "valueCodeableConcept": {"coding": [{"code": scoring}]},
                    }
                ],
                "population": [
                    {"code": {"coding": [{"system": POP, "code": c}]}, "criteria": {"expression": c}}
                    for c in CODES
                ],
                "stratifier": [
                    {"criteria": {"expression": "Sex"}},
                    {"criteria": {"expression": "Adult"}},
                ],
                **group,
            }
        ],
    }


def _result(pid: str) -> PatientResult:
    populations = [
        {"populationType": c, "criteriaExpression": c, "result": bool(m)}
        for c, m in zip(CODES, MEMBERS[pid], strict=True)
    ]
    strata = [
        {
            "index": 0,
            "result": True,
            "values": [{"code": SEX[pid], "system": "http://hl7.org/fhir/administrative-gender"}],
        },
        {"index": 1, "result": pid != "p7"},
    ]
    group = {
        "groupIndex": 0,
        "groupId": "unknown",
        "populationResults": populations,
        "stratifierResults": strata,
    }
    return PatientResult.model_validate({"patientId": pid, "groups": [group]})


def _counts(element: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in element["population"]}


def test_qm_ig_example_scores_half_without_ids() -> None:
    report = build_measure_report(
        _measure(), [_result(p) for p in MEMBERS], period=parse_period("2024", "2024"), report_type="summary"
    )
    (group,) = report["group"]
    assert "id" not in group
    assert _counts(group) == dict(zip(CODES, (7, 6, 1, 3, 1, 1), strict=True))
    assert group["measureScore"]["value"] == 0.5
    by_sex, adult = group["stratifier"]
    strata = {s["value"]["coding"][0]["code"]: _counts(s) for s in by_sex["stratum"]}
    assert strata["F"]["initial-population"] == 4
    assert strata["M"]["initial-population"] == 3
    assert sum(s["numerator"] for s in strata.values()) == 3
    values = {s["value"]["text"]: _counts(s)["initial-population"] for s in adult["stratum"]}
    assert values == {"true": 6, "false": 1}


def _observed(pid: str, den: float, num: float | None) -> PatientResult:
    populations: list[dict[str, Any]] = [
        {"populationType": "initial-population", "populationId": "ip", "result": True},
        {"populationType": "denominator", "populationId": "den", "result": True},
        {"populationType": "numerator", "populationId": "num", "result": num is not None},
        {"populationType": "measure-observation", "populationId": "den-obs", "result": True, "observations": [den]},
        {"populationType": "measure-observation", "populationId": "num-obs", "result": num is not None,
         "observations": [num] if num is not None else None},
    ]  # fmt: skip
    return PatientResult.model_validate(
        {"patientId": pid, "groups": [{"groupIndex": 0, "groupId": "g", "populationResults": populations}]}
    )


def _population(code: str, pid: str, **extra: Any) -> dict[str, Any]:
    ext = [
        {"url": f"http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-{k}", "valueString": v}
        for k, v in extra.items()
    ]
    return {"id": pid, "code": {"coding": [{"system": POP, "code": code}]}, "extension": ext}


@pytest.mark.parametrize(("scoring", "score"), [("ratio", 2 / 10), ("continuous-variable", 10.0)])
def test_observation_scores(scoring: str, score: float) -> None:
    populations = [
        _population("initial-population", "ip"),
        _population("denominator", "den"),
        _population("numerator", "num"),
        _population("measure-observation", "den-obs", aggregateMethod="sum", criteriaReference="den"),
        _population("measure-observation", "num-obs", aggregateMethod="count", criteriaReference="num"),
    ]
    measure = _measure(scoring, population=populations, stratifier=[])
    results = [_observed("a", 4.0, 1.0), _observed("b", 6.0, 2.0), _observed("c", 0.0, None)]
    report = build_measure_report(
        measure, results, period=parse_period("2024", "2024"), report_type="summary"
    )
    group = report["group"][0]
    observations = [p for p in group["population"] if p["code"]["coding"][0]["code"] == "measure-observation"]
    assert [p["count"] for p in observations] == [3, 2]
    assert group["measureScore"]["value"] == pytest.approx(score)
