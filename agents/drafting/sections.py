"""The fields of a Chinese inpatient record (病案) found in its notes, with offsets into the note.

Real records are written as ``字段：内容`` blocks (``入院诊断：1.…``), sometimes as ``【字段】``. Each field
runs until the next one. The first occurrence of a field across the notes wins (the admission note comes
first); the text and offsets always point into the note so every quote can be checked verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhir_ops.data_access.record import EncounterRecord, Note

#: The fields of the record layout, in writing order (national record-writing rules).
RECORD_FIELDS: tuple[str, ...] = (
    "病案标识",
    "科室",
    "入院日期",
    "出院日期",
    "主诉",
    "现病史",
    "既往史",
    "个人史",
    "婚姻史",
    "月经史",
    "家族史",
    "入院情况",
    "入院诊断",
    "诊疗经过",
    "出院诊断",
    "出院情况",
    "出院医嘱",
    "主要诊断编码",
    "其他诊断编码",
)
#: Fields that carry the coder's answer, never read by the agents.
CODED_FIELDS = frozenset({"主要诊断编码", "其他诊断编码"})

_FIELD = re.compile(
    r"^[ \t\u3000]*(?:【(?P<b>"
    + "|".join(RECORD_FIELDS)
    + r")】[:：]?|(?P<c>"
    + "|".join(RECORD_FIELDS)
    + r")[:：])",
    re.MULTILINE,
)
_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")


@dataclass(frozen=True, slots=True)
class Span:
    """A verbatim piece of a note: ``note.text[start:end] == text``."""

    reference: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    span: Span

    @property
    def text(self) -> str:
        return self.span.text


def note_sections(note: Note) -> list[Section]:
    """The record fields of one note, in order (empty fields are skipped)."""
    marks = list(_FIELD.finditer(note.text))
    out: list[Section] = []
    for i, mark in enumerate(marks):
        name = mark.group("b") or mark.group("c")
        end = marks[i + 1].start() if i + 1 < len(marks) else len(note.text)
        span = trimmed(note, mark.end(), end)
        if span is not None:
            out.append(Section(name, span))
    return out


def record_sections(record: EncounterRecord) -> dict[str, Section]:
    """Every field found in the record's notes; the first occurrence of a field wins."""
    sections: dict[str, Section] = {}
    for note in record.notes:
        for section in note_sections(note):
            if section.name not in CODED_FIELDS:
                sections.setdefault(section.name, section)
    return sections


def trimmed(note: Note, start: int, end: int) -> Span | None:
    """The span ``[start, end)`` of ``note`` without surrounding whitespace; None when empty."""
    text = note.text[start:end]
    stripped = text.strip()
    if not stripped:
        return None
    lead = len(text) - len(text.lstrip())
    return Span(note.reference, start + lead, start + lead + len(stripped), stripped)


def sentences(section: Section) -> list[Span]:
    """The sentences of a section (split on 。；！？ and line ends), verbatim, with note offsets.

    >>> from fhir_ops.data_access.record import Note
    >>> note = Note("DocumentReference/1", "诊疗经过：予阿司匹林。复查正常；出院。")
    >>> [s.text for s in sentences(note_sections(note)[0])]
    ['予阿司匹林。', '复查正常；', '出院。']
    """
    base = section.span
    out: list[Span] = []
    for m in _SENTENCE.finditer(base.text):
        piece = m.group()
        stripped = piece.strip()
        if len(stripped) < 2:
            continue
        lead = len(piece) - len(piece.lstrip())
        start = base.start + m.start() + lead
        out.append(Span(base.reference, start, start + len(stripped), stripped))
    return out
