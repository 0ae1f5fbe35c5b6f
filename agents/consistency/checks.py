"""The consistency validator: each check reads the draft's sentences (with their evidence) and the
record, counts the facts it checked and returns DetectedIssues with a suggested fix.

- timeline: dates of the course, outcome and orders lie inside the stay; admission before discharge;
- values: laboratory numbers against reference ranges (abnormal and not marked ↑/↓/异常 → flagged;
  implausible → likely a typo);
- doses: single doses of common drugs against their usual range;
- diagnoses: every discharge diagnosis has a supporting test, examination or procedure in the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from agents.drafting.drafter import Draft
from agents.drafting.resources import CS_CONSISTENCY, detected_issue
from agents.drafting.sections import Span, record_sections
from fhir_ops.data_access.record import EncounterRecord
from knowledge_base.cdi import evidence_row

DATA_FILE = Path(str(files("knowledge_base"))) / "cdi" / "consistency.yaml"
_DATE = re.compile(r"(20\d{2}|19\d{2})[-年/.](\d{1,2})[-月/.](\d{1,2})")
_NUMBER = r"(?P<v>\d+(?:\.\d+)?)"
_FLAGGED = re.compile(r"[↑↓]|升高|降低|偏高|偏低|增高|减低|异常|阳性|高于|低于")
_SUPPORT_FIELDS = ("现病史", "入院情况", "诊疗经过", "出院情况")
#: Issue kinds that count as inconsistencies (abnormal values are findings, not contradictions).
INCONSISTENT = frozenset(
    {"date-outside-stay", "date-order", "dose-range", "implausible-value", "unsupported-diagnosis"}
)


class _Lab(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    unit: str
    low: float
    high: float
    plausible: tuple[float, float]


class _Drug(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    min_mg: float
    max_mg: float


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    labs: list[_Lab]
    drugs: list[_Drug]


@dataclass(frozen=True, slots=True)
class _Compiled:
    labs: tuple[tuple[_Lab, re.Pattern[str]], ...]
    drugs: tuple[tuple[_Drug, re.Pattern[str]], ...]


@lru_cache(maxsize=1)
def _data() -> _Compiled:
    data = _Data.model_validate(yaml.safe_load(DATA_FILE.read_text(encoding="utf-8")))
    labs = tuple(
        (lab, re.compile(rf"(?:{lab.name})[^0-9，。；,;]{{0,6}}?{_NUMBER}\s*(?:{lab.unit})"))
        for lab in data.labs
    )
    drugs = tuple(
        (drug, re.compile(rf"(?:{drug.name})[^0-9，。；,;]{{0,8}}?{_NUMBER}\s*(?P<u>mg|g)(?![/a-zA-Z])"))
        for drug in data.drugs
    )
    return _Compiled(labs, drugs)


@dataclass(slots=True)
class ConsistencyReport:
    checked: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)

    @property
    def inconsistent(self) -> int:
        return sum(1 for i in self.issues if i["code"]["coding"][0]["code"] in INCONSISTENT)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def validate_draft(
    draft: Draft, record: EncounterRecord, *, draft_reference: str | None = None
) -> ConsistencyReport:
    report = ConsistencyReport()
    implicated = [draft_reference] if draft_reference else []

    def issue(code: str, title: str, severity: str, detail: str, span: Any, fix: str) -> None:
        report.issues.append(
            detected_issue(
                record,
                system=CS_CONSISTENCY,
                code=code,
                title=title,
                severity=severity,  # type: ignore[arg-type]
                detail=detail,
                evidence=[span],
                fix=fix,
                implicated=implicated,
            )
        )

    period = (record.encounter or {}).get("period") or {}
    start, end = _day(str(period.get("start") or "")), _day(str(period.get("end") or ""))
    if start and end:
        report.checked += 1
        if end < start:
            ref = f"Encounter/{(record.encounter or {}).get('id')}"
            issue(
                "date-order",
                "出院日期早于入院日期",
                "high",
                f"入院 {start}，出院 {end}。",
                Span(ref, 0, 0, ""),
                "核对入院、出院日期。",
            )
    for section in draft.sections:
        for sentence in section.sentences:
            if sentence.rendered:
                continue
            text = sentence.text
            if start and end and section.name in {"诊疗经过", "出院情况", "出院医嘱"}:
                for m in _DATE.finditer(text):
                    try:
                        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                    except ValueError:
                        day = None
                    report.checked += 1
                    if day is None or not start <= day <= end:
                        issue(
                            "date-outside-stay",
                            "日期不在住院期间",
                            "moderate",
                            f"“{m.group()}”不在住院期间（{start} 至 {end}）。",
                            sentence.evidence,
                            "核对该日期，或注明为院外/既往事件。",
                        )
            for lab, pattern in _data().labs:
                for m in pattern.finditer(text):
                    value = float(m.group("v"))
                    report.checked += 1
                    if not lab.plausible[0] <= value <= lab.plausible[1]:
                        issue(
                            "implausible-value",
                            "检验数值不合理",
                            "high",
                            f"“{m.group()}”超出可能范围，疑为笔误。",
                            sentence.evidence,
                            "核对检验原始报告。",
                        )
                    elif not lab.low <= value <= lab.high and not _FLAGGED.search(text):
                        issue(
                            "abnormal-value",
                            "异常检验值未标注",
                            "low",
                            f"“{m.group()}”超出参考范围（{lab.low}–{lab.high}），文中未标注异常。",
                            sentence.evidence,
                            "标注异常（↑/↓）并说明处理。",
                        )
            for drug, pattern in _data().drugs:
                for m in pattern.finditer(text):
                    mg = float(m.group("v")) * (1000 if m.group("u") == "g" else 1)
                    report.checked += 1
                    if not drug.min_mg <= mg <= drug.max_mg:
                        issue(
                            "dose-range",
                            "药物剂量超出常用范围",
                            "high" if mg > 2 * drug.max_mg else "moderate",
                            f"“{m.group()}”超出常用单次剂量（{drug.min_mg:g}–{drug.max_mg:g} mg）。",
                            sentence.evidence,
                            "核对剂量与单位。",
                        )
    sections = record_sections(record)
    support = [sections[n].text for n in _SUPPORT_FIELDS if n in sections]
    for section in draft.sections:
        if section.name != "出院诊断":
            continue
        for sentence in section.sentences:
            row = evidence_row(sentence.text)
            if row is None:
                continue
            report.checked += 1
            if not any(row.evidence.search(t) for t in support):
                issue(
                    "unsupported-diagnosis",
                    "出院诊断缺少支持依据",
                    "moderate",
                    f"出院诊断“{sentence.text}”在病历中未见支持性检查、检验或操作记录。",
                    sentence.evidence,
                    "补充支持该诊断的检查结果，或修正诊断。",
                )
    return report
