"""The consistency validator flags dates outside the stay, unusual doses and unsupported diagnoses."""

from __future__ import annotations

from pathlib import Path

from agents.consistency.checks import validate_draft
from agents.drafting.drafter import draft_summary
from agents.drafting.labelled import parse_record
from agents.icd.suggest import suggest
from fhir_ops.data_access.record import record_from_resources
from knowledge_base.icd.index import IcdIndex
from knowledge_base.icd.table import load_table

SUBSET = Path(__file__).resolve().parents[1] / "data" / "icd" / "icd10_subset.csv"
RECORD = """病案标识：K1
科室：心血管内科
入院日期：2024-03-02
出院日期：2024-03-09
主诉：胸痛6小时。
入院情况：肌钙蛋白I 5.6ng/ml。
入院诊断：1.急性前壁心肌梗死 2.2型糖尿病
诊疗经过：2024-03-04行冠状动脉造影并植入支架。2024-04-20复查心脏超声。予阿司匹林1000mg qd。
出院情况：无胸痛。
出院医嘱：阿托伐他汀20mg qn。
主要诊断编码：I21.001
"""


def _codes(text: str) -> list[str]:
    record = record_from_resources(parse_record(text, "k").resources())
    draft = draft_summary(record, suggest(record, IcdIndex(load_table(SUBSET))))
    report = validate_draft(draft, record, draft_reference="DocumentReference/discharge-k")
    assert all(i["implicated"][-1] == {"reference": "DocumentReference/discharge-k"} for i in report.issues)
    return [i["code"]["coding"][0]["code"] for i in report.issues]


def test_date_outside_stay_dose_and_unsupported_diagnosis_are_flagged() -> None:
    codes = _codes(RECORD)
    assert codes.count("date-outside-stay") == 1
    assert "dose-range" in codes
    assert "unsupported-diagnosis" in codes  # 2型糖尿病: no glucose or HbA1c in the record


def test_a_consistent_record_only_has_its_abnormal_value_flagged() -> None:
    text = RECORD.replace("2024-04-20", "2024-03-06").replace("1000mg", "100mg")
    text = text.replace("无胸痛。", "无胸痛，空腹血糖6.0mmol/L。")
    assert _codes(text) == ["abnormal-value"]  # troponin 5.6 ng/ml, not marked ↑
    assert _codes(text.replace("5.6ng/ml", "5.6ng/ml↑")) == []
