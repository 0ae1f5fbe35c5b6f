"""The notes the discharge hook reads on its budget.

A two-week stay has 30–50 notes, and reading them all costs the hook seconds. On its budget the hook
reads the latest notes first — the discharge summary and the last progress notes, which summarise the
stay — whole, at least one, up to ``max_chars`` characters; the background run reads them all. What it
settles from that part (a met indicator) it answers; what the unread notes could still change (not met,
needs review) it answers as pending (see agents/orchestration/steps.py).
"""

from __future__ import annotations

from dataclasses import replace

from fhir_ops.data_access.record import EncounterRecord, Note


def notes_within(notes: list[Note], max_chars: int) -> list[Note]:
    """The latest notes (by date, then by their order in the record) whose texts fit in ``max_chars``,
    in record order; all of them when ``max_chars`` is 0 or they fit."""
    if max_chars <= 0 or sum(len(n.text) for n in notes) <= max_chars:
        return list(notes)
    latest_first = sorted(range(len(notes)), key=lambda i: (notes[i].date or "", i), reverse=True)
    chosen: list[int] = []
    used = 0
    for i in latest_first:
        size = len(notes[i].text)
        if chosen and used + size > max_chars:
            break
        chosen.append(i)
        used += size
    return [notes[i] for i in sorted(chosen)]


def read_view(record: EncounterRecord, max_chars: int) -> tuple[EncounterRecord, bool]:
    """The record as the hook reads it on a budget of ``max_chars``, and whether notes were left out."""
    read = notes_within(record.notes, max_chars)
    if len(read) == len(record.notes):
        return record, False
    return replace(record, notes=read), True
