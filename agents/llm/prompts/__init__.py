"""Versioned prompt templates (Jinja2, Chinese), one per task.

A template file is ``<task>.v<N>.j2`` with a ``system`` and a ``user`` block. Its version string is
``<task>/v<N>+<sha256[:8] of the file>``: bump N for a deliberate change; the hash catches an edit made
without a bump. The version is recorded with every answer (and is part of the cache key via the text).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from agents.llm.types import Message

PROMPT_DIR = Path(__file__).parent

#: The template version each task uses now.
CURRENT: dict[str, int] = {"fact_verification": 1, "zero_shot_indicator": 1}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PROMPT_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


@dataclass(frozen=True, slots=True)
class Prompt:
    task: str
    version: str
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    task: str
    number: int

    @property
    def filename(self) -> str:
        return f"{self.task}.v{self.number}.j2"

    @property
    def version(self) -> str:
        digest = hashlib.sha256((PROMPT_DIR / self.filename).read_bytes()).hexdigest()[:8]
        return f"{self.task}/v{self.number}+{digest}"

    def render(self, **context: Any) -> Prompt:
        template = _env.get_template(self.filename)
        ctx = template.new_context(context)
        messages = tuple(
            {"role": role, "content": "".join(template.blocks[role](ctx)).strip()}
            for role in ("system", "user")
        )
        return Prompt(self.task, self.version, messages)


@cache
def template(task: str, number: int | None = None) -> PromptTemplate:
    """The template of ``task`` (its current version unless ``number`` is given)."""
    if task not in CURRENT:
        raise KeyError(f"unknown prompt task {task!r}; known: {', '.join(sorted(CURRENT))}")
    chosen = PromptTemplate(task, number if number is not None else CURRENT[task])
    if not (PROMPT_DIR / chosen.filename).is_file():
        raise KeyError(f"no template {chosen.filename}")
    return chosen
