"""Rank 国家临床版2.0 codes for a record: one primary diagnosis (with alternatives) and the secondaries.

Primary-diagnosis rules (the condition chiefly responsible for the stay):
1. The diagnosis list is the frame: the discharge list (出院诊断) when written, else the admission list
   (入院诊断); its first item is the primary candidate.
2. A diagnostic statement of the course (``诊断为…``, ``病理：…``) refines the list item it resolves — an
   uncertain item (``胸痛待查``), a finding (``占位``), a symptom code (R), or an item of the same
   three-character category — and takes its place; otherwise a definite statement adds a secondary.
3. Status codes (Z) and outcome-of-delivery codes (O80–O84, Z37) are never primary while another
   candidate exists: a delivery stay is coded by its obstetric condition.
Confidence is the name similarity of the match, lowered for an uncertain mention; tiers: ≥ 0.9 accept,
0.7–0.9 review, below reference only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from agents.drafting.sections import Span, record_sections
from agents.icd.implied import implied_codes
from agents.icd.mentions import Mention, record_mentions
from fhir_ops.data_access.record import EncounterRecord
from knowledge_base.icd.index import IcdIndex, Match
from knowledge_base.icd.table import IcdEntry

Tier = Literal["accept", "review", "reference"]
Role = Literal["primary", "secondary"]

ACCEPT = 0.9
REVIEW = 0.7
#: A statement or complication below this similarity is not taken as a diagnosis at all.
MIN_STATEMENT_SCORE = 0.6
UNCERTAIN_FACTOR = 0.8
PRIMARY_ALTERNATIVES = 2
_FINDING = re.compile(r"占位|肿物|包块|结节|待查|待排")
_DELIVERY_OUTCOME = re.compile(r"^(O8[0-4]|Z37)")


@dataclass(frozen=True, slots=True)
class Suggestion:
    entry: IcdEntry
    rank: int
    confidence: float
    role: Role
    evidence: tuple[Span, ...]
    mention: str
    #: Where the mention came from (``admission``, ``statement``, ``implied``…).
    source: str = "admission"

    @property
    def tier(self) -> Tier:
        return tier_of(self.confidence)


def tier_of(confidence: float) -> Tier:
    """>>> [tier_of(c) for c in (0.95, 0.8, 0.5)]
    ['accept', 'review', 'reference']
    """
    if confidence >= ACCEPT:
        return "accept"
    return "review" if confidence >= REVIEW else "reference"


@dataclass(slots=True)
class _Slot:
    mention: Mention
    matches: list[Match]
    evidence: list[Span] = field(default_factory=list)
    replaced: Match | None = None

    @property
    def top(self) -> Match:
        return self.matches[0]

    @property
    def confidence(self) -> float:
        return round(self.top.score * (1.0 if self.mention.certain else UNCERTAIN_FACTOR), 3)


def _matches(index: IcdIndex, mention: Mention) -> list[Match]:
    if mention.code is not None:
        entry = index.table.by_code.get(mention.code)
        if entry is not None:
            return [Match(entry, 1.0, True)]
    return index.search(mention.normalised, 3)


def _refines(slot: _Slot, new: Match, source: str) -> bool:
    old = slot.mention
    vague = (not old.certain) or bool(_FINDING.search(old.quote)) or slot.top.entry.code.startswith("R")
    if source == "pathology":
        return vague
    return vague or slot.top.entry.category == new.entry.category


def _slots(record: EncounterRecord, index: IcdIndex) -> list[_Slot]:
    mentions = record_mentions(record)
    listed = [m for m in mentions if m.source == "discharge"] or [
        m for m in mentions if m.source == "admission"
    ]
    slots = [_Slot(m, ms, [m.span]) for m in listed if (ms := _matches(index, m))]
    extra: list[_Slot] = []
    for m in mentions:
        if m.source not in {"statement", "pathology", "complication", "condition"}:
            continue
        ms = _matches(index, m)
        if not ms or ms[0].score < MIN_STATEMENT_SCORE:
            continue
        if m.source in {"statement", "pathology"}:
            target = next((s for s in slots if _refines(s, ms[0], m.source)), None)
            if target is not None:
                if target.top.entry.code != ms[0].entry.code:
                    target.replaced = target.top
                    target.mention, target.matches = m, ms
                target.evidence.append(m.span)
                continue
            if m.source == "pathology":
                continue
        extra.append(_Slot(m, ms, [m.span]))
    sections = record_sections(record)
    course = [sections[n] for n in ("诊疗经过", "出院情况") if n in sections]
    lists = [sections[n] for n in ("出院诊断", "入院诊断") if n in sections]
    for code, span in implied_codes(course, lists):
        entry = index.table.by_code.get(code)
        if entry is not None:
            implied = Mention(span, entry.name, "implied", -1, True, code)
            extra.append(_Slot(implied, [Match(entry, 1.0, True)], [span]))
    return slots + extra


def _primary_index(slots: list[_Slot]) -> int:
    def rank(slot: _Slot) -> int:
        code = slot.top.entry.code
        if _DELIVERY_OUTCOME.match(code):
            return 2 if code.startswith("Z") else 1
        return 3 if code.startswith("Z") else 0

    return min(range(len(slots)), key=lambda i: (rank(slots[i]), i))


def suggest(record: EncounterRecord, index: IcdIndex) -> list[Suggestion]:
    """The suggestions for ``record``: primary (rank 1 and alternatives) first, then secondaries."""
    slots = _slots(record, index)
    if not slots:
        return []
    p = _primary_index(slots)
    primary = slots[p]
    out = [
        Suggestion(
            primary.top.entry,
            1,
            primary.confidence,
            "primary",
            tuple(primary.evidence),
            primary.mention.quote,
        )
    ]
    alternatives = [m for m in [*primary.matches[1:2], primary.replaced] if m is not None]
    alternatives += [s.top for i, s in enumerate(slots) if i != p][:1]
    seen = {primary.top.entry.code}
    for alt in alternatives:
        if len(out) > PRIMARY_ALTERNATIVES or alt.entry.code in seen:
            continue
        seen.add(alt.entry.code)
        conf = (
            round(min(alt.score, primary.confidence) * 0.9, 3)
            if alt.score < 1
            else round(primary.confidence * 0.5, 3)
        )
        out.append(
            Suggestion(
                alt.entry, len(out) + 1, conf, "primary", tuple(primary.evidence), primary.mention.quote
            )
        )
    taken = {primary.top.entry.code}
    rank = 0
    for i, slot in enumerate(slots):
        code = slot.top.entry.code
        if i == p or code in taken:
            continue
        taken.add(code)
        rank += 1
        out.append(
            Suggestion(
                slot.top.entry, rank, slot.confidence, "secondary", tuple(slot.evidence), slot.mention.quote
            )
        )
    return out
