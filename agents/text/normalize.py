"""Whitespace normalisation with an offset map, and the verbatim-quote check (evidence or nothing)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Normalised:
    """``text`` with whitespace runs collapsed to one space; ``index[i]`` = offset in the original."""

    text: str
    index: tuple[int, ...]


def normalise(text: str) -> Normalised:
    """Collapse whitespace runs (incl. full-width spaces) to one space and strip the ends.

    >>> normalise(" a \\n b ").text
    'a b'
    """
    out: list[str] = []
    index: list[int] = []
    for m in re.finditer(r"\S+|\s+", text):
        if m.group().isspace():
            if out:
                out.append(" ")
                index.append(m.start())
        else:
            out.extend(m.group())
            index.extend(range(m.start(), m.end()))
    if out and out[-1] == " ":
        out.pop()
        index.pop()
    return Normalised("".join(out), tuple(index))


def find_verbatim(text: str, quote: str, hint: int | None = None) -> tuple[int, int] | None:
    """Offsets ``(start, end)`` in ``text`` of ``quote`` compared after whitespace normalisation.

    With several occurrences the one nearest ``hint`` wins. Returns None when the quote is not there.

    >>> find_verbatim("患者 予阿司匹林\\n口服", "阿司匹林 口服")
    (4, 11)
    """
    q = normalise(quote).text
    if not q:
        return None
    n = normalise(text)
    starts = [m.start() for m in re.finditer(re.escape(q), n.text)]
    if not starts:
        return None
    best = min(starts, key=lambda s: abs(n.index[s] - hint)) if hint is not None else starts[0]
    return n.index[best], n.index[best + len(q) - 1] + 1
