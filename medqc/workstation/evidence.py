"""A fact's quote located inside its note: the text before, the quote, the text after (for ``<mark>``).

The verifier records ``start``/``end`` offsets into the note's decoded text; when they no longer match
(the note was edited since), the quote is looked up in the text (one linear search) and, when absent,
shown as not found, never silently elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Characters of context shown on each side of a quote by default.
CONTEXT = 60


@dataclass(frozen=True, slots=True)
class Located:
    before: str
    quote: str
    after: str
    start: int
    end: int
    cut_before: bool
    cut_after: bool


def locate(text: str, quote: str, start: int | None, end: int | None) -> tuple[int, int] | None:
    """Where ``quote`` is in ``text``: the recorded offsets when they still hold, else its first occurrence.

    >>> locate("患者行HAS-BLED评分2分", "HAS-BLED评分2分", 3, 15), locate("abc", "b", 0, 2)
    ((3, 15), (1, 2))
    >>> locate("abc", "x", None, None) is None
    True
    """
    if not quote:
        return None
    if start is not None and end is not None and 0 <= start < end <= len(text) and text[start:end] == quote:
        return start, end
    found = text.find(quote)
    return (found, found + len(quote)) if found >= 0 else None


def in_context(text: str, span: tuple[int, int], *, context: int = CONTEXT) -> Located:
    """The quote with ``context`` characters around it (the full text is shown on demand)."""
    start, end = span
    lo, hi = max(0, start - context), min(len(text), end + context)
    return Located(
        before=text[lo:start],
        quote=text[start:end],
        after=text[end:hi],
        start=start,
        end=end,
        cut_before=lo > 0,
        cut_after=hi < len(text),
    )
