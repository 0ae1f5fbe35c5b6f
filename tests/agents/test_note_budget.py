"""The hook's note budget: the latest notes first, whole, at least one, in record order."""

from __future__ import annotations

from agents.note_budget import notes_within, read_view
from fhir_ops.data_access.record import EncounterRecord, Note


def _note(ref: str, chars: int, date: str | None = None) -> Note:
    return Note(reference=f"DocumentReference/{ref}", text="字" * chars, date=date)


def test_every_note_without_a_budget_or_when_they_fit() -> None:
    notes = [_note("a", 100), _note("b", 100)]
    assert notes_within(notes, 0) == notes
    assert notes_within(notes, 200) == notes


def test_the_latest_whole_notes_that_fit_in_record_order() -> None:
    notes = [
        _note("summary", 300, "2024-03-08"),
        _note("day1", 300, "2024-03-01"),
        _note("day7", 300, "2024-03-07"),
        _note("day3", 300, "2024-03-03"),
    ]
    assert [n.reference for n in notes_within(notes, 650)] == [
        "DocumentReference/summary",
        "DocumentReference/day7",
    ]


def test_without_dates_the_last_notes_of_the_record_and_at_least_one() -> None:
    notes = [_note("first", 50), _note("second", 50), _note("third", 5000)]
    assert [n.reference for n in notes_within(notes, 120)] == ["DocumentReference/third"]
    assert [n.reference for n in notes_within(notes[:2], 60)] == ["DocumentReference/second"]


def test_the_view_says_whether_notes_were_left_out() -> None:
    record = EncounterRecord(patient=None, encounter=None, notes=[_note("a", 100), _note("b", 100)])
    assert read_view(record, 0) == (record, False)
    view, partial = read_view(record, 150)
    assert partial
    assert [n.reference for n in view.notes] == ["DocumentReference/b"]
    assert len(record.notes) == 2  # the record itself is unchanged
