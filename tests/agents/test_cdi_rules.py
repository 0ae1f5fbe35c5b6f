"""CDI rules: the rule file's shape, gaps with evidence, and precision on the labelled sealed records."""

from __future__ import annotations

from fhir.resources.R4B.detectedissue import DetectedIssue

from agents.cdi.review import cdi_review, gaps
from agents.drafting.labelled import load_records, parse_record
from fhir_ops.data_access.record import record_from_resources
from knowledge_base.cdi import cdi_rules
from medqc.commands.eval_docs import RECORDS_DIR, evaluate_cdi

RECORD = """病案标识：C1
科室：心血管内科
入院日期：2024-05-15
出院日期：2024-05-22
主诉：胸闷、气短1周。
入院情况：肌酐210μmol/L，血红蛋白95g/L。
入院诊断：1.心力衰竭 2.慢性肾功能不全 3.贫血
诊疗经过：入院后予利尿治疗，血钾3.1mmol/L，予氯化钾补钾。
出院情况：症状改善。
出院医嘱：呋塞米20mg qd。
主要诊断编码：I50.900
"""


def _record(text: str = RECORD):  # type: ignore[no-untyped-def]
    return record_from_resources(parse_record(text, "c").resources())


def test_at_least_25_rules_with_impact_question_and_fields() -> None:
    rules = cdi_rules().rules
    assert len(rules) >= 25
    assert len({r.id for r in rules}) == len(rules)
    assert all(r.question and r.recommended_fields and r.impact for r in rules)


def test_gaps_come_most_severe_first_with_verbatim_evidence() -> None:
    record = _record()
    found = gaps(record)
    ids = [rule.id for rule, _ in found]
    assert {"CDI-HF-TYPE", "CDI-HF-NYHA", "CDI-CKD-STAGE", "CDI-ANEMIA-TYPE", "CDI-HYPOK-DX"} <= set(ids)
    order = {"high": 0, "moderate": 1, "low": 2}
    assert [order[r.severity] for r, _ in found] == sorted(order[r.severity] for r, _ in found)
    note = record.notes[0].text
    for _, evidence in found:
        assert evidence
        assert all(note[s.start : s.end] == s.text for s in evidence)


def test_documented_detail_closes_the_gap() -> None:
    text = RECORD.replace("1.心力衰竭", "1.射血分数降低的心力衰竭 心功能Ⅲ级（NYHA分级）")
    ids = {rule.id for rule, _ in gaps(_record(text))}
    assert "CDI-HF-TYPE" not in ids
    assert "CDI-HF-NYHA" not in ids


def test_detected_issues_are_valid_r4() -> None:
    issues = cdi_review(_record())
    assert issues
    for issue in issues:
        DetectedIssue.model_validate(issue)
        assert issue["status"] == "preliminary"
        assert issue["implicated"] == [{"reference": "Encounter/enc-C1"}]


def test_precision_on_labelled_sealed_gaps() -> None:
    result = evaluate_cdi(load_records(RECORDS_DIR / "sealed"))
    assert result["precision"] >= 0.9, result["errors"]
