"""The per-note size limit of the lexical path (``MEDQC_NOTE_MAX_BYTES``).

Text processing is linear, so a large note costs time in proportion (about 1 s per MB); the limit keeps
one request from holding a worker for long. A note above it is a client error: :class:`NoteTooLarge` is a
:class:`fhir_ops.errors.BadRequest` (HTTP 400, OperationOutcome code ``too-costly``), raised before any
fact is verified so no verifier swallows it.
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_ops.data_access.record import Note
from fhir_ops.errors import BadRequest

DEFAULT_NOTE_MAX_BYTES = 2 * 1024 * 1024


class NoteTooLarge(BadRequest):
    """A note of the record is larger than the configured limit."""

    code = "too-costly"

    def __init__(self, reference: str, size: int, limit: int) -> None:
        super().__init__(
            f"note {reference} has {size} bytes of text, more than the limit of {limit} bytes "
            "(MEDQC_NOTE_MAX_BYTES); split the document or raise the limit",
            expression=["DocumentReference.content.attachment"],
        )
        self.reference = reference
        self.size = size
        self.limit = limit


def check_note_sizes(notes: Iterable[Note], max_bytes: int) -> None:
    """Raise :class:`NoteTooLarge` for the first note whose UTF-8 text exceeds ``max_bytes``.

    >>> from fhir_ops.data_access.record import Note
    >>> check_note_sizes([Note(reference="DocumentReference/1", text="出院记录")], 12)
    >>> try:
    ...     check_note_sizes([Note(reference="DocumentReference/1", text="出院记录")], 11)
    ... except NoteTooLarge as exc:
    ...     print(exc.status, exc.size, exc.limit)
    400 12 11
    """
    for note in notes:
        # a note of fewer characters than the limit/4 cannot exceed it (UTF-8 needs at most 4 bytes)
        if len(note.text) * 4 <= max_bytes:
            continue
        size = len(note.text.encode("utf-8"))
        if size > max_bytes:
            raise NoteTooLarge(note.reference, size, max_bytes)
