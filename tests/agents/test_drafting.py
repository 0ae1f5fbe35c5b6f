"""Extractive drafting: complete drafts, every sentence a verified quote or a rendering of coded data."""

from __future__ import annotations

import base64
from pathlib import Path

from fhir.resources.R4B.documentreference import DocumentReference

from agents.drafting.document import document_reference, provenance
from agents.drafting.drafter import DraftSentence, draft_summary, verified
from agents.drafting.labelled import load_records
from agents.drafting.sections import Span
from agents.drafting.templates import template_for, templates
from agents.icd.suggest import suggest
from fhir_ops.data_access.record import record_from_resources
from knowledge_base.icd.index import IcdIndex
from knowledge_base.icd.table import load_table
from medqc.commands.eval_docs import RECORDS_DIR

SUBSET = Path(__file__).resolve().parents[1] / "data" / "icd" / "icd10_subset.csv"
REQUIRED = {"入院日期", "出院日期", "入院情况", "入院诊断", "诊疗经过", "出院诊断", "出院情况", "出院医嘱"}


def test_templates_cover_the_required_sections_and_departments() -> None:
    assert {"general", "cardiology", "neurology", "general_surgery", "obstetrics_gynaecology"} <= set(
        templates()
    )
    for template in templates().values():
        assert REQUIRED <= {s.name for s in template.sections if s.required}
    assert template_for("心血管内科").id == "cardiology"
    assert template_for("妇产科").id == "obstetrics_gynaecology"
    assert template_for("眼科").id == "general"


def test_drafts_are_complete_and_every_quote_is_verbatim() -> None:
    index = IcdIndex(load_table(SUBSET))
    for labelled in load_records(RECORDS_DIR / "dev")[:15]:
        record = record_from_resources(labelled.resources())
        draft = draft_summary(record, suggest(record, index))
        assert draft.complete, (labelled.id, draft.missing)
        assert draft.unverified == 0
        for sentence in draft.sentences():
            if not sentence.rendered:
                assert labelled.note[sentence.evidence.start : sentence.evidence.end] == sentence.text


def test_a_quote_not_in_its_note_is_not_verified() -> None:
    notes = {"DocumentReference/1": "诊疗经过：予阿司匹林100mg qd。"}
    good = DraftSentence("予阿司匹林100mg qd。", Span("DocumentReference/1", 5, 19, "予阿司匹林100mg qd。"))
    bad = DraftSentence("予阿司匹林300mg qd。", Span("DocumentReference/1", 5, 19, "予阿司匹林300mg qd。"))
    assert verified(good, notes)
    assert not verified(bad, notes)


def test_document_reference_and_provenance_shape() -> None:
    labelled = load_records(RECORDS_DIR / "dev")[0]
    record = record_from_resources(labelled.resources())
    draft = draft_summary(record, suggest(record, IcdIndex(load_table(SUBSET))))
    doc = document_reference(draft, record, resource_id="discharge-x")
    DocumentReference.model_validate(doc)
    assert doc["docStatus"] == "preliminary"
    assert doc["status"] == "current"
    assert doc["type"]["coding"][0]["code"] == "18842-5"
    text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8")
    assert all(f"【{name}】" in text for name in REQUIRED)
    prov = provenance(draft, record, target="DocumentReference/discharge-x/_history/1", resource_id="p1")
    assert {"reference": f"DocumentReference/note-{labelled.id}"} in [e["what"] for e in prov["entity"]]
