"""Codes implied by documented events (delivery method, outcome of delivery); data in ``implied.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

IMPLIED_FILE = Path(__file__).with_name("implied.yaml")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    all: list[str] = Field(min_length=1)
    none: list[str] = Field(default_factory=list)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    rules: list[_Rule]


@dataclass(frozen=True, slots=True)
class ImpliedRule:
    code: str
    all: tuple[re.Pattern[str], ...]
    none: tuple[re.Pattern[str], ...]


@lru_cache(maxsize=1)
def implied_rules() -> tuple[ImpliedRule, ...]:
    data = _File.model_validate(yaml.safe_load(IMPLIED_FILE.read_text(encoding="utf-8")))
    return tuple(
        ImpliedRule(r.code, tuple(map(re.compile, r.all)), tuple(map(re.compile, r.none))) for r in data.rules
    )
