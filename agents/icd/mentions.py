"""Diagnosis mentions of a record: the lists of 入院诊断/出院诊断, diagnostic statements of 诊疗经过 and
出院情况 (``诊断为…``, ``住院期间出现…``, ``病理：…``), and coded Conditions.

Every mention of a note is a verbatim span of it; a coded Condition's mention points at the Condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agents.drafting.sections import Section, Span, record_sections
from fhir_ops.data_access.record import EncounterRecord
from knowledge_base.icd.normalise import normalise_name
from knowledge_base.icd.synonyms import Synonyms, synonyms
from knowledge_base.icd.table import ICD_SYSTEM

Source = Literal["discharge", "admission", "statement", "pathology", "complication", "condition", "implied"]

LIST_SECTIONS = ("出院诊断", "入院诊断")
STATEMENT_SECTIONS = ("诊疗经过", "出院情况")

_ITEM = re.compile(r"(?:^|(?<=[\s；;，,。]))\d{1,2}\s*[.、．)）]")
_PART = re.compile(r"[^\s\u3000，,；;、。]+")
_UNCERTAIN = re.compile(r"待查|待排|可能|？|\?|疑似|考虑")
_UNCERTAIN_STRIP = re.compile(r"(待查|待排|可能性大|可能|？|\?|疑似)")
_STOP = r"[，,。；;（(：:\n]"
_STATEMENT = re.compile(
    r"(?:明确诊断为?|修正诊断为?|诊断考虑|确诊为?|诊断为|明确为|考虑为?)[:：]?(?P<x>[^，,。；;（(：:\n]{2,30})"
)
_COMPLICATION = re.compile(
    r"(?:住院期间|术后|治疗期间|期间)(?:出现|并发|发生|合并)(?P<x>[^，,。；;（(：:\n]{2,20})"
)
_PATHOLOGY = re.compile(r"病理(?:示|提示|诊断)?[:：]?(?P<x>[^，,。；;（(：:\n]{2,30})")
#: Statements that do not name a diagnosis (``考虑手术``, ``诊断为明确``).
_NOT_DIAGNOSIS = re.compile(r"^(手术|转院|出院|予|给予|行|患者|明确|诊断|治疗|为)")


@dataclass(frozen=True, slots=True)
class Mention:
    span: Span
    normalised: str
    source: Source
    item: int
    certain: bool
    code: str | None = None

    @property
    def quote(self) -> str:
        return self.span.text


def _normalised(text: str, syn: Synonyms) -> str:
    return syn.apply(normalise_name(_UNCERTAIN_STRIP.sub("", text)))


def _sub(section: Section, start: int, end: int) -> Span:
    base = section.span
    return Span(base.reference, base.start + start, base.start + end, base.text[start:end])


def list_mentions(section: Section, source: Source, syn: Synonyms) -> list[Mention]:
    """The mentions of a numbered diagnosis list; qualifiers and umbrella terms of an item dropped."""
    text = section.text
    marks = list(_ITEM.finditer(text))
    bounds = [
        (m.end(), marks[i + 1].start() if i + 1 < len(marks) else len(text)) for i, m in enumerate(marks)
    ] or [(0, len(text))]
    out: list[Mention] = []
    for item, (start, end) in enumerate(bounds):
        parts = [(m.start() + start, m.end() + start) for m in _PART.finditer(text[start:end])]
        found: list[Mention] = []
        for s, e in parts:
            span = _sub(section, s, e)
            norm = _normalised(span.text, syn)
            if len(norm) < 2 or syn.is_qualifier(norm):
                continue
            found.append(Mention(span, norm, source, item, not _UNCERTAIN.search(span.text)))
        if len(found) > 1:
            found = [m for m in found if not syn.is_umbrella(m.normalised)] or found[:1]
        out.extend(found)
    return out


def statement_mentions(section: Section, syn: Synonyms) -> list[Mention]:
    out: list[Mention] = []
    patterns: tuple[tuple[re.Pattern[str], Source], ...] = (
        (_STATEMENT, "statement"),
        (_COMPLICATION, "complication"),
        (_PATHOLOGY, "pathology"),
    )
    for pattern, source in patterns:
        for m in pattern.finditer(section.text):
            span = _sub(section, m.start("x"), m.end("x"))
            norm = _normalised(span.text, syn)
            if len(norm) < 2 or _NOT_DIAGNOSIS.search(norm):
                continue
            prefix = section.text[max(0, m.start() - 2) : m.start("x")]
            certain = "考虑" not in prefix and not _UNCERTAIN.search(span.text)
            out.append(Mention(span, norm, source, -1, certain))
    return sorted(out, key=lambda m: m.span.start)


def condition_mentions(record: EncounterRecord, syn: Synonyms) -> list[Mention]:
    """Mentions of the record's coded Conditions (a code of this table is taken as it is)."""
    out: list[Mention] = []
    for cond in record.conditions:
        code_cc = cond.get("code") or {}
        codings = [c for c in code_cc.get("coding") or [] if isinstance(c, dict)]
        ours = next((c for c in codings if c.get("system") == ICD_SYSTEM and c.get("code")), None)
        text = str(code_cc.get("text") or (codings[0].get("display") if codings else "") or "")
        if not text and ours is None:
            continue
        reference = f"Condition/{cond.get('id')}"
        span = Span(reference, 0, len(text), text)
        out.append(
            Mention(span, _normalised(text, syn), "condition", -1, True, str(ours["code"]) if ours else None)
        )
    return out


def record_mentions(record: EncounterRecord) -> list[Mention]:
    """All diagnosis mentions of the record, lists first (discharge list before admission list)."""
    syn = synonyms()
    sections = record_sections(record)
    out: list[Mention] = []
    for name in LIST_SECTIONS:
        if name in sections:
            out.extend(list_mentions(sections[name], "discharge" if name == "出院诊断" else "admission", syn))
    for name in STATEMENT_SECTIONS:
        if name in sections:
            out.extend(statement_mentions(sections[name], syn))
    out.extend(condition_mentions(record, syn))
    return out
