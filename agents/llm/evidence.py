"""The evidence rule for model answers: the quote must be in a note verbatim (after whitespace
normalisation), and is returned with its offsets; anything else is a hallucinated quote."""

from __future__ import annotations

from collections.abc import Sequence

from agents.lexical.normalize import find_verbatim
from agents.verifiers.base import Evidence
from knowledge_base.retrieval.sentences import NoteLike

#: Quotation marks and sentence punctuation a model tends to wrap a quote in.
_WRAPPERS = " \t\r\n\"'“”‘’「」『』《》。，,；;：:…"
MIN_QUOTE_CHARS = 2


def clean_quote(quote: str | None) -> str:
    """The quote without wrapping quotation marks or trailing punctuation.

    >>> clean_quote("“入院NIHSS 3分。”")
    '入院NIHSS 3分'
    """
    return (quote or "").strip(_WRAPPERS)


def locate_quote(notes: Sequence[NoteLike], quote: str, *, prefer: str | None = None) -> Evidence | None:
    """Evidence (note reference, exact span, offsets) for ``quote``; None if no note contains it.

    ``prefer`` is checked first (the note the retrieved sentences came from).
    """
    q = clean_quote(quote)
    if len(q) < MIN_QUOTE_CHARS:
        return None
    ordered = sorted(notes, key=lambda n: n.reference != prefer)
    for note in ordered:
        span = find_verbatim(note.text, q)
        if span is not None:
            start, end = span
            return Evidence(reference=note.reference, quote=note.text[start:end], start=start, end=end)
    return None
