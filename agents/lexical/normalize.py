"""Whitespace normalisation with an offset map, and the verbatim-quote check (evidence or nothing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc

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


#: Full-width letters, digits and the symbols of scores and values (％ － ＋ ． ／ ＜ ＝ ＞). Chinese
#: punctuation (，：；（）) stays: sentences, clauses and sections are split on it.
_FULL_WIDTH = {
    code: code - 0xFEE0
    for code in [
        *range(0xFF10, 0xFF1A),
        *range(0xFF21, 0xFF3B),
        *range(0xFF41, 0xFF5B),
        0xFF05,
        0xFF0B,
        0xFF0D,
        0xFF0E,
        0xFF0F,
        0xFF1C,
        0xFF1D,
        0xFF1E,
    ]
}


def fold_width(text: str) -> str:
    """Full-width letters, digits and value symbols (ＬＶＥＦ５０％, ＨＡＳ－ＢＬＥＤ) as ASCII, one character
    for one, so offsets hold.

    >>> fold_width("ＬＶＥＦ５０％，HAS－BLED")
    'LVEF50%，HAS-BLED'
    """
    return text.translate(_FULL_WIDTH)


@lru_cache(maxsize=1)
def _traditional_to_simplified() -> dict[int, int]:
    """OpenCC's character table (traditional → simplified), one code point for one: offsets hold."""
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0]
        if len(source) == 1 and len(target) == 1 and source != target:
            table[ord(source)] = ord(target)
    simplified = set(table.values())
    return {k: v for k, v in table.items() if k not in simplified}


def fold_for_matching(text: str) -> str:
    """The text lexicons are matched against: full-width letters/digits as ASCII and traditional
    characters as simplified (肝內膽管細胞癌 → 肝内胆管细胞癌), one character for one.

    >>> fold_for_matching("診斷：肝內膽管細胞癌，ＣＥＡ５．２")
    '诊断：肝内胆管细胞癌，CEA5.2'
    """
    return fold_width(text).translate(_traditional_to_simplified())
