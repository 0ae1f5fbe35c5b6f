"""Discharge-documentation cards for ``encounter-discharge``: the drafted discharge summary (a link and a
suggestion to create it), the CDI gaps (highest severity first) and the ICD-10 codes to consider (each a
suggestion that creates the provisional Condition when the clinician accepts it)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Literal

from agents.cdi.review import gaps
from agents.drafting.document import document_reference, draft_id
from agents.drafting.drafter import draft_summary
from agents.drafting.sections import record_sections
from agents.icd.suggest import Suggestion as IcdSuggestion
from agents.icd.suggest import suggest
from agents.operations.icd_suggest import condition
from cds_services.cards import OVERRIDE_REASONS, CardContext, links_for, md_escape, truncate
from cds_services.models import Action, Card, Coding, Source, Suggestion
from cds_services.service import IssuedCard
from fhir_ops.data_access.record import EncounterRecord
from knowledge_base.icd.index import index_for
from knowledge_base.icd.table import ICD_SYSTEM, load_table

SOURCE = "MedQC discharge documentation"
CDI_TOPIC = "http://medqc.org/fhir/CodeSystem/cdi-rule"
#: CDI severity → card indicator (a documentation gap is never "critical": it does not harm the patient).
INDICATOR: dict[str, Literal["info", "warning"]] = {"high": "warning", "moderate": "info", "low": "info"}
MAX_ICD_SUGGESTIONS = 8


def _issued(card: Card, key: str, encounter_id: str) -> IssuedCard:
    ids = tuple(s.uuid for s in card.suggestions or [] if s.uuid)
    return IssuedCard(card=card, indicator_key=key, encounter_id=encounter_id, suggestion_ids=ids)


def draft_card(
    record: EncounterRecord, ctx: CardContext, encounter_id: str, icd: list[IcdSuggestion]
) -> Card:
    draft = draft_summary(record, icd)
    doc = document_reference(draft, record, resource_id=draft_id(encounter_id))
    missing = f"；未填写：{'、'.join(draft.missing)}" if draft.missing else ""
    return Card(
        uuid=str(uuid.uuid4()),
        summary=truncate(
            f"出院记录草稿已生成（{draft.template.title}，{len(draft.sentences())}句，均有出处）", 139
        ),
        detail=(
            f"模板 `{draft.template.label}`，每句引自病历原文或编码数据{md_escape(missing)}。请审核后签名。"
        ),
        indicator="info",
        source=Source(label=SOURCE),
        selectionBehavior="at-most-one",
        suggestions=[
            Suggestion(
                label="保存出院记录草稿（待医师审核）",
                uuid=str(uuid.uuid4()),
                isRecommended=True,
                actions=[
                    Action(type="create", description="出院记录草稿（DocumentReference）", resource=doc)
                ],
            )
        ],
        links=links_for(ctx),
    )


def cdi_cards(record: EncounterRecord) -> list[tuple[Card, str]]:
    out: list[tuple[Card, str]] = []
    for rule, evidence in gaps(record):  # most severe first
        quotes = "；".join(f"“{md_escape(s.text)}”" for s in evidence if s.text)
        card = Card(
            uuid=str(uuid.uuid4()),
            summary=truncate(f"病历文书待完善：{rule.title}", 139),
            detail=f"{md_escape(rule.question)}\n\n依据：{quotes or '—'}\n\n影响：{'、'.join(rule.impact)}",
            indicator=INDICATOR[rule.severity],
            source=Source(label=SOURCE, topic=Coding(system=CDI_TOPIC, code=rule.id, display=rule.title)),
            overrideReasons=list(OVERRIDE_REASONS),
        )
        out.append((card, rule.id))
    return out


def icd_card(record: EncounterRecord, icd: list[IcdSuggestion]) -> Card | None:
    suggestions = [s for s in icd if s.role == "secondary" or s.rank == 1]
    if not suggestions:
        return None
    return Card(
        uuid=str(uuid.uuid4()),
        summary="建议的ICD-10编码（国家临床版2.0）",
        detail="\n".join(
            f"- {'主要诊断' if s.role == 'primary' else '其他诊断'} `{s.entry.code}` "
            f"{md_escape(s.entry.name)}（{s.tier}，{s.confidence}）"
            for s in suggestions[:MAX_ICD_SUGGESTIONS]
        ),
        indicator="info",
        source=Source(label=SOURCE, topic=Coding(system=ICD_SYSTEM, code="icd10-cn-clinical-2.0")),
        selectionBehavior="any",
        suggestions=[
            Suggestion(
                label=truncate(f"添加诊断 {s.entry.code} {s.entry.name}", 80),
                uuid=str(uuid.uuid4()),
                isRecommended=s.tier == "accept",
                actions=[
                    Action(type="create", description=f"诊断 {s.entry.code}", resource=condition(s, record))
                ],
            )
            for s in suggestions[:MAX_ICD_SUGGESTIONS]
        ],
    )


def _cards(record: EncounterRecord, ctx: CardContext, encounter_id: str) -> list[IssuedCard]:
    icd = suggest(record, index_for(load_table()))  # the draft's diagnoses and the ICD card's, read once
    issued = [_issued(draft_card(record, ctx, encounter_id, icd), "docs:draft", encounter_id)]
    issued += [_issued(card, f"cdi:{key}", encounter_id) for card, key in cdi_cards(record)]
    if (card := icd_card(record, icd)) is not None:
        issued.append(_issued(card, "docs:icd", encounter_id))
    return issued


async def discharge_doc_cards(
    record: EncounterRecord, ctx: CardContext, encounter_id: str
) -> list[IssuedCard]:
    """The documentation cards of a discharged encounter (CPU work off the event loop); none when its
    notes are not written in the record layout (字段：内容) the agents read."""
    if not record_sections(record):
        return []
    try:
        load_table()
    except FileNotFoundError:
        return []  # no ICD table on this server: the quality-control cards still answer
    return await asyncio.to_thread(_cards, record, ctx, encounter_id)
