"""Clinical spellings of diagnoses mapped to the table's spelling (data: ``synonyms.yaml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from knowledge_base.icd.normalise import normalise_name

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")


class _SynonymFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    replace: dict[str, str]
    umbrella: list[str]
    qualifier: str


@dataclass(frozen=True, slots=True)
class Synonyms:
    version: str
    replace: tuple[tuple[str, str], ...]
    umbrella: frozenset[str]
    qualifier: re.Pattern[str]

    def apply(self, normalised: str) -> str:
        """``normalised`` (see :func:`normalise_name`) with clinical spellings replaced, longest first."""
        for old, new in self.replace:
            if old in normalised and new not in normalised:
                normalised = normalised.replace(old, new)
        return normalised

    def is_umbrella(self, normalised: str) -> bool:
        return normalised in self.umbrella

    def is_qualifier(self, normalised: str) -> bool:
        return bool(self.qualifier.search(normalised))


@lru_cache(maxsize=1)
def synonyms() -> Synonyms:
    data = _SynonymFile.model_validate(yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8")))
    pairs = sorted(
        ((normalise_name(k), normalise_name(v)) for k, v in data.replace.items()),
        key=lambda kv: len(kv[0]),
        reverse=True,
    )
    return Synonyms(
        version=data.version,
        replace=tuple(pairs),
        umbrella=frozenset(normalise_name(u) for u in data.umbrella),
        qualifier=re.compile(data.qualifier),
    )
