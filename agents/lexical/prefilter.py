"""A first-character guard for a lexicon's alternation, so matching it over a note stays fast.

Python's ``re`` tries every alternative of ``term1|term2|…`` at every position of the note unless it can
prove a set of possible first characters, which it cannot for case-insensitive ASCII terms, lookbehinds or
``re:`` patterns. Prefixing the alternation with a lookahead on the set of characters any match can start
with, ``(?=[…])(?:…)``, skips the other positions in one step; matches are exactly the same (the set is a
superset of the true first characters). When the set cannot be computed (a pattern may start with ``.``,
``[^…]`` or ``\\w``, or may match the empty string) the pattern is used as it is.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from functools import lru_cache

with warnings.catch_warnings():  # the parser of ``re`` itself, public under this (deprecated) name
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sc
    import sre_parse

#: Characters of ``\\d`` and ``\\s`` (Unicode), for patterns such as ``\\d+\\s*组``.
_CATEGORY_LIMIT = 0x30000


@lru_cache(maxsize=2)
def _category_chars(category: str) -> frozenset[str]:
    test = str.isdecimal if category == "digit" else str.isspace
    return frozenset(c for c in map(chr, range(_CATEGORY_LIMIT)) if test(c))


class _Unbounded(Exception):
    """The pattern may start with any character (or with nothing)."""


def _class_chars(items: Iterable[tuple[object, object]]) -> set[str]:
    out: set[str] = set()
    for op, av in items:
        if op is sc.LITERAL and isinstance(av, int):
            out.add(chr(av))
        elif op is sc.RANGE and isinstance(av, tuple):
            out.update(map(chr, range(av[0], av[1] + 1)))
        elif op is sc.CATEGORY and av in (sc.CATEGORY_DIGIT, sc.CATEGORY_SPACE):
            out |= _category_chars("digit" if av is sc.CATEGORY_DIGIT else "space")
        else:  # NEGATE, \w, \S …
            raise _Unbounded
    return out


def _first(items: list[tuple[object, object]]) -> tuple[set[str], bool]:
    """(characters a match of ``items`` can start with, whether it can match the empty string)."""
    out: set[str] = set()
    for op, av in items:
        if op in (sc.ASSERT, sc.ASSERT_NOT, sc.AT):
            continue  # zero width
        if op is sc.LITERAL and isinstance(av, int):
            out.add(chr(av))
            return out, False
        if op is sc.IN and isinstance(av, list):
            return out | _class_chars(av), False
        if op is sc.SUBPATTERN and isinstance(av, tuple):
            chars, nullable = _first(list(av[-1]))
        elif op is sc.BRANCH and isinstance(av, tuple):
            firsts = [_first(list(alt)) for alt in av[1]]
            chars = set().union(*(f for f, _ in firsts))
            nullable = any(n for _, n in firsts)
        elif op in (sc.MAX_REPEAT, sc.MIN_REPEAT) and isinstance(av, tuple):
            chars, nullable = _first(list(av[2]))
            nullable = nullable or av[0] == 0
        else:  # ANY, NOT_LITERAL, group references …
            raise _Unbounded
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _char_class(chars: set[str]) -> str:
    """``chars`` as the body of a character class, consecutive code points written as ranges."""
    codes = sorted(map(ord, chars))
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        lo, hi = chr(codes[i]), chr(codes[j])
        parts.append(re.escape(lo) if i == j else f"{re.escape(lo)}-{re.escape(hi)}")
        i = j + 1
    return "".join(parts)


def guarded(source: str, flags: int = 0) -> str:
    """``source`` behind a lookahead on its possible first characters, or ``source`` unchanged.

    >>> guarded("胸痛|PCI")
    '(?=[P胸])(?:胸痛|PCI)'
    >>> guarded(".{0,3}痛"), guarded("a?")
    ('.{0,3}痛', 'a?')
    """
    try:
        parsed = sre_parse.parse(source, flags)
        chars, nullable = _first(list(parsed.data))
    except (_Unbounded, re.error, RecursionError):
        return source
    if nullable or not chars:
        return source
    return f"(?=[{_char_class(chars)}])(?:{source})"
