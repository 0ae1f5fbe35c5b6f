from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from agents.methods import policy_for
from agents.qc_evaluate import CqlJudge, qc_evaluate
from agents.qc_report import EXT_EVIDENCE, EXT_FACT, EXT_NEEDS_REVIEW, EXT_RULE_RESULT
from measures.catalog import indicator_specs, spec_for
from measures.catalog.evaluation import CatalogEngine


def _group_ext(report: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in report["group"][0]["extension"] if e["url"] == url]


def _counts(report: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}


async def test_af_report_shape_and_evidence(make_record: Any, catalog_engine: CatalogEngine) -> None:
    text = (
        "诊断：持续性心房颤动。入院后CHA2DS2-VASc评分3分，HAS-BLED评分2分，予同步直流电复律，转为窦性心律。"
    )
    record = make_record(text)
    specs = [s for s in indicator_specs() if s.disease == "af"]
    bundle = await qc_evaluate(
        record, measures=specs, denominator_asserted=True, policy=policy_for("lexical"),
        judge=CqlJudge(catalog_engine),
    )
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == 3
    for entry in bundle["entry"]:
        report = entry["resource"]
        assert report["measure"].startswith("http://medqc.org/fhir/Measure/af-")
        assert _counts(report) == {"initial-population": 1, "denominator": 1, "numerator": 1}
        assert _group_ext(report, EXT_NEEDS_REVIEW)[0]["valueBoolean"] is False
        refs = {e["valueReference"]["reference"] for e in _group_ext(report, EXT_FACT)}
        facts = [o for o in report["contained"] if not o["code"]["coding"][0]["code"].endswith(".diagnosis")]
        assert refs == {f"#{o['id']}" for o in facts}
        for obs in report["contained"]:
            for ev in (e for e in obs.get("extension", []) if e["url"] == EXT_EVIDENCE):
                parts = {
                    p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in ev["extension"]
                }
                if "quote" in parts:
                    assert text[parts["start"] : parts["end"]] == parts["quote"]
                else:  # "not documented": the evidence is the note that was read
                    assert parts["source"]["reference"].startswith("DocumentReference/")


async def test_unknown_numerator_is_no_with_review(make_record: Any, catalog_engine: CatalogEngine) -> None:
    spec = spec_for("af-rhythm-control")
    assert spec is not None
    record = make_record("主诉：心悸3天。诊断：阵发性房颤。未行电复律，拒绝射频消融。")
    bundle = await qc_evaluate(
        record, measures=[spec], denominator_asserted=True, policy=policy_for("lexical"),
        judge=CqlJudge(catalog_engine),
    )
    report = bundle["entry"][0]["resource"]
    assert _counts(report)["numerator"] == 0
    assert _group_ext(report, EXT_RULE_RESULT)[0]["valueCode"] == "unknown"
    assert _group_ext(report, EXT_NEEDS_REVIEW)[0]["valueBoolean"] is True


async def test_denominator_selection_without_assertion(
    make_record: Any, catalog_engine: CatalogEngine
) -> None:
    record = make_record("诊断：急性前壁ST段抬高型心肌梗死。主诉：胸痛2小时。急诊行PCI术。")
    bundle = await qc_evaluate(
        record, measures=None, denominator_asserted=False, policy=policy_for("lexical"),
        judge=CqlJudge(catalog_engine),
    )
    ids = {e["resource"]["measure"].split("/")[-1].split("|")[0] for e in bundle["entry"]}
    assert "stemi-reperfusion-24h" in ids
    assert not any(i.startswith("af-") for i in ids)
    reperfusion = next(
        e["resource"] for e in bundle["entry"] if "stemi-reperfusion-24h" in e["resource"]["measure"]
    )
    assert _counts(reperfusion) == {"initial-population": 1, "denominator": 1, "numerator": 1}
