"""Note templates as data (``knowledge_base/templates/*.yaml``): sections, required flags, sources."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

TEMPLATES_DIR = Path(str(files("knowledge_base"))) / "templates"
DEFAULT_TEMPLATE = "general"


class TemplateSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    required: bool = True
    #: Record fields quoted verbatim, the first one present wins.
    fields: list[str] = Field(default_factory=list)
    #: Rendered from the Encounter period when it has the date.
    encounter_date: Literal["start", "end"] | None = None
    #: Rendered from the diagnosis mentions the ICD suggester ranks (primary first).
    diagnoses: bool = False
    max_sentences: int = Field(default=20, ge=1, le=100)
    #: When a field has more sentences than ``max_sentences``, those naming these come first.
    focus: list[str] = Field(default_factory=list)


class NoteTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    version: str
    title: str
    departments: list[str]
    sections: list[TemplateSection] = Field(min_length=1)

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"


@lru_cache(maxsize=1)
def templates() -> dict[str, NoteTemplate]:
    out: dict[str, NoteTemplate] = {}
    for path in sorted(TEMPLATES_DIR.glob("*.yaml")):
        template = NoteTemplate.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        out[template.id] = template
    if DEFAULT_TEMPLATE not in out:
        raise RuntimeError(f"no '{DEFAULT_TEMPLATE}' note template in {TEMPLATES_DIR}")
    return out


def template_for(department: str | None) -> NoteTemplate:
    """The template whose departments name ``department`` (e.g. ``心血管内科``); the general one otherwise."""
    if department:
        dept = department.strip().lower()
        for template in templates().values():
            if any(d.lower() in dept or dept in d.lower() for d in template.departments):
                return template
    return templates()[DEFAULT_TEMPLATE]
