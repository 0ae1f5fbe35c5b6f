"""$qc-evaluate MeasureReports → indicator findings."""

from __future__ import annotations

from typing import Any

from cds_services.qc_adapter import IndicatorMeta, QcEvaluator, findings_from_qc_bundle
from fhir_ops.data_access.record import EncounterRecord

SD = "http://medqc.org/fhir/StructureDefinition"
POP = "http://terminology.hl7.org/CodeSystem/measure-population"
CANONICAL = "http://medqc.org/fhir/Measure/af-2"
META = IndicatorMeta(key="AF-2", title="CHA2DS2-VASc 评分", core=True, definition_url=CANONICAL)


def _report(*, den: int, num: int, review: bool, fact: dict[str, Any]) -> dict[str, Any]:
    observation = {
        "resourceType": "Observation",
        "id": "fact-score",
        "extension": [
            {
                "url": f"{SD}/qc-evidence",
                "extension": [
                    {"url": "source", "valueReference": {"reference": "DocumentReference/d1"}},
                    {"url": "quote", "valueString": "未行CHA2DS2-VASc评分"},
                ],
            }
        ],
        "status": "final",
        "code": {"coding": [{"code": "score_done"}], "text": "完成 CHA2DS2-VASc 评分"},
        "method": {"coding": [{"code": "lexical"}]},
        **fact,
    }
    return {
        "resourceType": "MeasureReport",
        "measure": f"{CANONICAL}|1.0",
        "contained": [observation],
        "group": [
            {
                "extension": [
                    {"url": f"{SD}/qc-fact", "valueReference": {"reference": "#fact-score"}},
                    {"url": f"{SD}/qc-needs-review", "valueBoolean": review},
                ],
                "population": [
                    {"code": {"coding": [{"system": POP, "code": "denominator"}]}, "count": den},
                    {"code": {"coding": [{"system": POP, "code": "numerator"}]}, "count": num},
                ],
            }
        ],
    }


def _bundle(*reports: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in reports]}


def test_not_met_with_fact_and_evidence() -> None:
    [finding] = findings_from_qc_bundle(
        _bundle(_report(den=1, num=0, review=False, fact={"valueBoolean": False})), {CANONICAL: META}.get
    )
    assert finding.verdict == "not-met"
    assert finding.core
    [fact] = finding.facts
    assert fact.fact_id == "score_done"
    assert fact.value is False
    assert fact.method == "lexical"
    assert fact.evidence[0].quote == "未行CHA2DS2-VASc评分"
    assert fact.evidence[0].reference == "DocumentReference/d1"


def test_verdicts() -> None:
    unknown = {"dataAbsentReason": {"coding": [{"code": "unknown"}]}}
    reports = [
        _report(den=1, num=1, review=False, fact={"valueBoolean": True}),
        _report(den=1, num=0, review=True, fact=unknown),
        _report(den=0, num=0, review=False, fact={"valueBoolean": False}),
    ]
    findings = findings_from_qc_bundle(_bundle(*reports), {CANONICAL: META}.get)
    assert [f.verdict for f in findings] == ["met", "needs-review"]
    assert findings[1].facts[0].value is None


def test_unknown_measure_is_skipped() -> None:
    bundle = _bundle(_report(den=1, num=0, review=False, fact={"valueBoolean": False}))
    assert findings_from_qc_bundle(bundle, {}.get) == []


async def test_qc_evaluator() -> None:
    async def evaluate(record: EncounterRecord) -> dict[str, Any]:
        return _bundle(_report(den=1, num=0, review=False, fact={"valueBoolean": False}))

    evaluator = QcEvaluator(evaluate=evaluate, indicator={CANONICAL: META}.get)
    [finding] = await evaluator(EncounterRecord(patient=None, encounter=None))
    assert finding.key == "AF-2"
