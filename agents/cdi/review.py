"""Evaluate the CDI rules (``knowledge_base/cdi/rules.json``) over a record → DetectedIssues.

A rule's condition is logic over named record fields (see the rule file's ``fields``); a ``matches``
condition that holds contributes its first match as evidence (a verbatim span of the note). Regular
expressions come from the knowledge base and run over one record's text (bounded size).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agents.drafting.resources import (
    CS_CDI,
    EXT_IMPACT,
    EXT_RECOMMENDED_FIELD,
    SEVERITY_ORDER,
    detected_issue,
)
from agents.drafting.sections import Section, Span, record_sections
from agents.icd.mentions import LIST_SECTIONS
from fhir_ops.data_access.record import EncounterRecord
from knowledge_base.cdi import AllOf, AnyOf, CdiRule, Condition, Match, Not, cdi_rules, evidence_row

COURSE = ("诊疗经过", "出院情况")
SUPPORT = ("现病史", "入院情况", "诊疗经过", "出院情况")


@dataclass(slots=True)
class RecordFields:
    """The fields the rules read: text fields as sections (for evidence), booleans as such."""

    text: dict[str, list[Section]]
    flags: dict[str, bool | None]
    #: What a flag is about (the primary diagnosis for ``primary_supported``), cited as evidence.
    flag_evidence: dict[str, Span]


def record_fields(record: EncounterRecord) -> RecordFields:
    sections = record_sections(record)
    lists = [sections[n] for n in LIST_SECTIONS if n in sections]
    procedures = [
        Section("procedures", Span(f"Procedure/{p.get('id')}", 0, len(t), t))
        for p in record.procedures
        if (t := str((p.get("code") or {}).get("text") or "") or _display(p))
    ]
    primary = primary_span(lists)
    supported = primary_supported(primary, [sections[n] for n in SUPPORT if n in sections])
    return RecordFields(
        text={
            "diagnoses": lists,
            "course": [sections[n] for n in COURSE if n in sections],
            "record": list(sections.values()),
            "procedures": procedures,
        },
        flags={"primary_supported": supported},
        flag_evidence={"primary_supported": primary} if primary is not None else {},
    )


def _display(resource: dict[str, Any]) -> str:
    codings = (resource.get("code") or {}).get("coding") or [{}]
    return str(codings[0].get("display") or codings[0].get("code") or "")


def primary_span(lists: list[Section]) -> Span | None:
    """The first diagnosis of the first list (its first item, without the numbering)."""
    if not lists:
        return None
    section = lists[0]
    m = re.search(r"[^\s\d.、．)）][^\s]*", section.text)
    if m is None:
        return None
    base = section.span
    return Span(base.reference, base.start + m.start(), base.start + m.end(), m.group())


def primary_supported(primary: Span | None, support: list[Section]) -> bool | None:
    """Whether the primary diagnosis has supporting evidence; None when it is unknown what would."""
    row = evidence_row(primary.text) if primary is not None else None
    if row is None:
        return None
    return any(row.evidence.search(s.text) for s in support)


def _holds(cond: Condition, fields: RecordFields, evidence: list[Span]) -> bool:
    if isinstance(cond, AllOf):
        found: list[Span] = []
        if all(_holds(c, fields, found) for c in cond.all):
            evidence.extend(found)
            return True
        return False
    if isinstance(cond, AnyOf):
        return any(_holds(c, fields, evidence) for c in cond.any)
    if isinstance(cond, Not):
        return not _holds(cond.not_, fields, [])
    return _match(cond, fields, evidence)


def _match(cond: Match, fields: RecordFields, evidence: list[Span]) -> bool:
    if cond.equals is not None:
        holds = fields.flags.get(cond.field) is cond.equals
        if holds and cond.field in fields.flag_evidence:
            evidence.append(fields.flag_evidence[cond.field])
        return holds
    pattern = re.compile(cond.matches or ".")
    for section in fields.text.get(cond.field, []):
        m = pattern.search(section.text)
        if m:
            base = section.span
            evidence.append(Span(base.reference, base.start + m.start(), base.start + m.end(), m.group()))
            return True
    return False


def gaps(record: EncounterRecord) -> list[tuple[CdiRule, list[Span]]]:
    """The rules whose condition holds for ``record``, most severe first, with their evidence."""
    fields = record_fields(record)
    out: list[tuple[CdiRule, list[Span]]] = []
    for rule in cdi_rules().rules:
        evidence: list[Span] = []
        if _holds(rule.when, fields, evidence):
            out.append((rule, evidence))
    out.sort(key=lambda pair: SEVERITY_ORDER[pair[0].severity])
    return out


def cdi_review(record: EncounterRecord) -> list[dict[str, Any]]:
    """DetectedIssues (preliminary) for the documentation gaps of ``record``, most severe first."""
    return [
        detected_issue(
            record,
            system=CS_CDI,
            code=rule.id,
            title=rule.title,
            severity=rule.severity,
            detail=rule.question,
            evidence=evidence,
            fix=f"请补充：{'、'.join(rule.recommended_fields)}",
            extensions=[
                *({"url": EXT_IMPACT, "valueCode": i} for i in rule.impact),
                *({"url": EXT_RECOMMENDED_FIELD, "valueString": f} for f in rule.recommended_fields),
            ],
        )
        for rule, evidence in gaps(record)
    ]
