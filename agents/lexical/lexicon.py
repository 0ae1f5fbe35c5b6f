"""Concept lexicons for the lexical verifier: ``knowledge_base/lexicons/<file>.yaml``.

A lexicon file holds named entries; a catalog fact points to one with ``lexicon: file#entry``.
``_text.yaml`` holds the shared text rules (section headings, negation/uncertainty cues).
See ``measures/catalog/README.md`` for the format.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The lexicon data stays with the knowledge base (data with provenance); this package is the engine.
LEXICON_DIR = Path(__file__).parents[2] / "knowledge_base" / "lexicons"
#: Dictionaries (record-type titles, drugs, procedures), each with its source and license.
DICTIONARY_DIR = Path(__file__).parents[2] / "knowledge_base" / "dictionaries"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CueOverrides(_Strict):
    """Per-entry changes to the default cue lists; ``off: true`` disables this kind of cue entirely
    (for terms that already carry their polarity, such as 淋巴结未见转移)."""

    add: list[str] = Field(default_factory=list)
    add_post: list[str] = Field(
        default_factory=list,
        description="cues that count only after the mention (阿司匹林过敏, 对氯吡格雷不耐受 for a drug)",
    )
    remove: list[str] = Field(default_factory=list)
    off: bool = Field(default=False, description="no cues of this kind for the entry (add is ignored)")


class Cues(_Strict):
    """Negation/uncertainty cues. ``pre`` cues precede the mention in its clause, ``post`` follow it.

    ``pseudo`` are phrases that contain a cue but do not negate (无明显诱因); ``terminators`` end a cue's
    scope (但, 后). ``window`` is the largest number of characters between a pre cue and the mention.
    ``post_reach`` lists the post cues that reach further (see the field).
    """

    negation_pre: list[str] = Field(default_factory=list)
    negation_post: list[str] = Field(default_factory=list)
    uncertainty_pre: list[str] = Field(default_factory=list)
    uncertainty_post: list[str] = Field(default_factory=list)
    pseudo: list[str] = Field(default_factory=list)
    terminators: list[str] = Field(default_factory=list)
    window: int = 12
    post_reach: list[str] = Field(
        default_factory=list,
        description="post cues about the act itself (未能完成, 待回报, 停用) that also count at the end of "
        "the clause and at the end of the mention's 、-enumeration; other post cues (可能: 彩超提示转移可能) "
        "count only within 4 characters after the mention",
    )
    pending_clause: list[str] = Field(
        default_factory=list,
        description="results-pending phrases (结果待回报) that, opening the clause after a mention's clause "
        "or 、-enumeration, make every item uncertain (送检血常规、肝肾功能，结果待回报); an entry drops one "
        "with uncertainty.remove, all with uncertainty.off",
    )


class RecordType(_Strict):
    """A record type of ``dictionaries/record_titles.yaml``: its titles, what its untitled text counts as."""

    titles: list[str]
    counts_as: list[str] = Field(
        default_factory=list, description="sections the text directly under the title counts as"
    )
    report: bool = Field(default=False, description="a pathology/imaging report (report conventions apply)")


class RecordTitles(_Strict):
    version: str
    records: dict[str, RecordType]


class TextRules(_Strict):
    """``_text.yaml``: section headings (canonical name → heading variants) and default cues; with the
    record-type titles of ``knowledge_base/dictionaries/record_titles.yaml``."""

    sections: dict[str, list[str]]
    cues: Cues
    records: dict[str, RecordType] = Field(default_factory=dict)
    report_cues: list[str] = Field(
        default_factory=list,
        description="uncertainty cues that, in a pathology or imaging report, state the report's finding "
        "(考虑, 倾向): a report's 考虑腺癌 is its diagnosis; elsewhere 考虑 hedges",
    )
    plan_cues: list[str] = Field(
        default_factory=list,
        description="uncertainty cues of a plan (建议, 拟) that, for a discharge-context entry, do not "
        "hedge a plan for after discharge (出院后建议继续口服阿托伐他汀 is a discharge prescription)",
    )
    discharge_plan: list[str] = Field(
        default_factory=list, description="phrases that make a sentence a plan for after discharge (出院后)"
    )
    variants: dict[str, list[str]] = Field(
        default_factory=dict,
        description="report variants of one word (切缘: [断端, 残端]): a lexicon term or pattern naming the "
        "word matches every variant",
    )
    report_markers: list[str] = Field(
        default_factory=list,
        description="regexes that open a report statement within a sentence (病理示, CT提示, 活检病理：); "
        "a mention after one is read by the report conventions",
    )

    earlier_episode: str | None = Field(
        default=None,
        description="regex: a present-illness sentence opening with an earlier episode (3年前行PCI术) "
        "counts as history for entries that exclude 既往史",
    )
    this_stay: list[str] = Field(
        default_factory=list, description="phrases that keep such a sentence in this stay (入院, 收入)"
    )
    elsewhere: list[str] = Field(
        default_factory=list, description="care given elsewhere (外院, 当地医院): needed for an earlier stay"
    )
    findings: list[str] = Field(
        default_factory=list, description="a finding or diagnosis (病理示, 发现): such a sentence stays"
    )

    def aliases(self, section: str | None) -> frozenset[str]:
        """``section`` and the sections its text counts as (出院记录 → 出院情况, 出院医嘱)."""
        if section is None:
            return frozenset()
        record = self.records.get(section)
        return frozenset([section, *(record.counts_as if record else [])])

    def is_report(self, section: str | None) -> bool:
        record = self.records.get(section or "")
        return record is not None and record.report


class NumberSpec(_Strict):
    """How to read a number after an anchor term (NIHSS 3分, LVEF 43%, 残余狭窄 10%)."""

    unit: str = Field(description="regex of the unit written after the number; '' for none")
    max_gap: int = Field(default=12, description="characters allowed between anchor and number")
    value_pattern: str | None = Field(default=None, description="regex with one group; default: a decimal")
    min: float | None = None
    max: float | None = None
    scale_fraction: bool = Field(default=False, description="read 0.55 as 55 (percent written as fraction)")
    select: Literal["first", "max", "min", "sum"] = Field(
        default="first",
        description="which number answers: the first found, the largest, the smallest, or the sum of the "
        "counts in one sentence/section (肠旁4枚、中间4枚、中央4枚 → 12)",
    )
    sum_scope: Literal["sentence", "section"] = Field(
        default="sentence", description="select: sum adds the numbers within one sentence or one section"
    )
    same_clause: bool = Field(
        default=False,
        description="do not read a number across ，；。 after the anchor (NIHSS：3分 still reads)",
    )


class DurationSpec(_Strict):
    """Hours from onset (or another anchor) read from text such as 胸痛3小时, 2h入院, 发病4.5小时.

    Durations in ``sections`` count without anchors (the chief complaint); elsewhere a duration counts
    when one of ``before`` occurs within ``window`` characters before it or one of ``after`` right after.
    ``select`` picks among all durations found.
    """

    sections: list[str] = Field(default_factory=list)
    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    window: int = 8
    select: Literal["min", "max", "first"] = "min"


class LexiconEntry(_Strict):
    kind: Literal["concept", "number", "duration", "category"] = "concept"
    terms: list[str] = Field(default_factory=list, description="literal terms, synonyms, abbreviations")
    regex: list[str] = Field(default_factory=list, description="extra patterns (Python re)")
    exclude: list[str] = Field(
        default_factory=list, description="a mention is ignored if one of these is in its clause"
    )
    require: list[str] = Field(
        default_factory=list, description="a mention counts only if one of these is in its sentence"
    )
    require_affirmed: bool = Field(
        default=False,
        description="require counts only an affirmed occurrence (the entry's cues): 未行活检 does not "
        "satisfy require [活检]",
    )
    context: list[str] = Field(
        default_factory=list, description="preferred context (出院, 院外, 带药): in sentence or section name"
    )
    context_sections: list[str] = Field(default_factory=list)
    outside_context_confidence: float | None = Field(
        default=None, description="confidence of a mention outside the context; None = ignore it"
    )
    sections: list[str] = Field(default_factory=list, description="only these sections (empty = all)")
    exclude_sections: list[str] = Field(default_factory=list)
    exclude_sentence: list[str] = Field(
        default_factory=list, description="a mention is ignored if one of these is anywhere in its sentence"
    )
    negation: CueOverrides = Field(default_factory=CueOverrides)
    uncertainty: CueOverrides = Field(default_factory=CueOverrides)
    inner_cues: bool = Field(
        default=False,
        description="also look for cues inside a regex match (脑室系统未见积血 for 're:脑室.{0,6}积血'); "
        "cues written in the pattern itself do not count",
    )
    after: str | None = Field(
        default=None,
        description="an outcome entry (rebleeding, recanalisation): 'file#entry' of the procedure it judges; "
        "when the note mentions that procedure, only mentions after its first affirmed mention count",
    )
    on_negated: bool | None = Field(default=False, description="value when every mention is negated")
    on_conflict: Literal["affirmed", "last"] = Field(
        default="affirmed",
        description="affirmed and negated mentions: any affirmed one wins (default) or the last in the "
        "notes wins, a clause-final stop later in the sentence counting as a negated mention "
        "(予美托洛尔，后因低血压停用 → stopped)",
    )
    number: NumberSpec | None = None
    duration: DurationSpec | None = None
    values: dict[str, list[str]] = Field(
        default_factory=dict, description="category: value → terms, in priority order"
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            re.compile(p)
        return patterns

    def check(self) -> list[str]:
        errors: list[str] = []
        if self.kind in {"concept", "number"} and not (self.terms or self.regex):
            errors.append("needs terms or regex")
        if self.kind == "number" and self.number is None:
            errors.append("number entry needs 'number'")
        if self.kind == "duration" and self.duration is None:
            errors.append("duration entry needs 'duration'")
        if self.kind == "category" and not self.values:
            errors.append("category entry needs 'values'")
        return errors


class LexiconFile(_Strict):
    version: str
    description: str | None = None
    entries: dict[str, LexiconEntry]


class LexiconError(ValueError):
    pass


@lru_cache(maxsize=64)
def load_lexicon_file(name: str, directory: Path = LEXICON_DIR) -> LexiconFile:
    path = directory / f"{name}.yaml"
    if not path.is_file():
        raise LexiconError(f"no lexicon file {path.name}")
    try:
        lex = LexiconFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValueError) as exc:
        raise LexiconError(f"{path.name}: {exc}") from exc
    errors = [f"{key}: {e}" for key, entry in lex.entries.items() for e in entry.check()]
    if errors:
        raise LexiconError(f"{path.name}: " + "; ".join(errors))
    return lex


def resolve(ref: str, directory: Path = LEXICON_DIR) -> LexiconEntry:
    """The entry ``file#entry``; raises :class:`LexiconError`."""
    file, _, entry = ref.partition("#")
    lex = load_lexicon_file(file, directory)
    if entry not in lex.entries:
        raise LexiconError(f"{file}.yaml has no entry {entry!r}")
    return lex.entries[entry]


@lru_cache(maxsize=4)
def text_rules(directory: Path = LEXICON_DIR, dictionaries: Path = DICTIONARY_DIR) -> TextRules:
    path = directory / "_text.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    titles = dictionaries / "record_titles.yaml"
    if titles.is_file():
        records = RecordTitles.model_validate(yaml.safe_load(titles.read_text(encoding="utf-8")))
        data = {**data, "records": records.records}
    return TextRules.model_validate(data)
