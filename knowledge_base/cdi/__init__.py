"""CDI rules (``rules.json``) and the diagnosis → supporting-evidence table, loaded and validated."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

HERE = Path(__file__).resolve().parent
Severity = Literal["high", "moderate", "low"]
Impact = Literal["DRG", "quality", "reimbursement"]
FieldName = Literal["diagnoses", "course", "record", "procedures", "primary_supported"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    field: FieldName
    matches: str | None = None
    equals: bool | None = None


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class Not(_Strict):
    not_: Condition = Field(alias="not")


Condition = Match | AllOf | AnyOf | Not


class CdiRule(_Strict):
    id: str = Field(pattern=r"^CDI-[A-Z0-9-]+$")
    title: str
    severity: Severity
    impact: list[Impact] = Field(min_length=1)
    when: Condition
    question: str
    recommended_fields: list[str] = Field(min_length=1)


class CdiRuleSet(_Strict):
    version: str
    fields: dict[str, str]
    rules: list[CdiRule] = Field(min_length=1)


@lru_cache(maxsize=1)
def cdi_rules() -> CdiRuleSet:
    data = json.loads((HERE / "rules.json").read_text(encoding="utf-8"))
    ruleset = CdiRuleSet.model_validate(data)
    for rule in ruleset.rules:
        _compile_all(rule.when)
    return ruleset


def _compile_all(cond: Condition) -> None:
    if isinstance(cond, Match) and cond.matches is not None:
        re.compile(cond.matches)
    elif isinstance(cond, AllOf | AnyOf):
        for c in cond.all if isinstance(cond, AllOf) else cond.any:
            _compile_all(c)
    elif isinstance(cond, Not):
        _compile_all(cond.not_)


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    diagnosis: re.Pattern[str]
    evidence: re.Pattern[str]


@lru_cache(maxsize=1)
def diagnosis_evidence() -> tuple[EvidenceRow, ...]:
    data = yaml.safe_load((HERE / "diagnosis_evidence.yaml").read_text(encoding="utf-8"))
    return tuple(EvidenceRow(re.compile(r["diagnosis"]), re.compile(r["evidence"])) for r in data["rows"])


def evidence_row(diagnosis: str) -> EvidenceRow | None:
    return next((row for row in diagnosis_evidence() if row.diagnosis.search(diagnosis)), None)
