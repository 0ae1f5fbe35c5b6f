"""Is a rewritten sentence supported by the record sentences it cites? The evidence rule for abstraction.

A sentence the language model writes is kept only when every claim in it is found in its cited sources
(verbatim record sentences):

- every number appears in the sources, and stays bound to the same word (``阿司匹林300mg`` is not
  supported by ``阿司匹林100mg、替格瑞洛300mg``);
- every content word (jieba tokens of two or more characters, less a short list of connectives a rewrite
  may add) appears in the sources;
- every content word keeps its polarity: negated (无/未/否认/不…) in the sentence only if negated in a
  source, and the other way round.

Matching is on the lexicons' folded text (full-width and traditional characters folded); every check is
a bounded scan of one sentence and its few sources (no backtracking patterns).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agents.lexical.normalize import fold_for_matching
from knowledge_base.retrieval.tokenize import tokens

#: Words a rewrite may add without adding a claim (who, when, connectives, generic verbs).
CONNECTIVES = frozenset(
    "患者 入院 入院后 住院 住院期间 期间 给予 予以 经 经过 治疗 治疗后 后 行 并 及 同时 随后 之后 其后 分别 "
    "继续 目前 现 情况 主要 予 先后 相关 处理 予以 进行 完善 术后 出院 出院时".split()
)
NEGATIONS = ("否认", "没有", "未见", "未", "无", "不", "非", "阴性")
_NEGATION_WINDOW = 6
_BIND_WINDOW = 12
_CLAUSE = re.compile(r"[^，,。；;！!？?\n]+")
#: a number with its unit (``100mg``, ``8.1%``): the unit is part of the claim
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[A-Za-z%]+)?")
_HAS_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def _clauses(text: str) -> list[str]:
    return [m.group() for m in _CLAUSE.finditer(text)]


def _numbers(text: str) -> set[str]:
    return {m.group() for m in _NUMBER.finditer(text)}


def _content(word: str) -> bool:
    return (
        len(word) >= 2
        and _HAS_WORD.search(word) is not None
        and not any(c.isdigit() for c in word)  # numbers are checked with their units
        and word not in CONNECTIVES
    )


def _negated(clause: str, at: int) -> bool:
    before = clause[max(0, at - _NEGATION_WINDOW) : at]
    return any(cue in before for cue in NEGATIONS)


def _bound_word(clause: str, at: int) -> str | None:
    """The content word right before the number at ``at`` (within a few characters, no digit between).

    >>> _bound_word("予阿司匹林100mg", 5)
    '阿司匹林'
    """
    window = clause[max(0, at - _BIND_WINDOW) : at]
    cut = max((m.end() for m in re.finditer(r"\d", window)), default=0)
    words = [w for w in tokens(window[cut:]) if _content(w) and not w.isascii()]
    return words[-1] if words else None


def _binds(word: str, number: str, clauses: Iterable[str]) -> bool:
    """Some source clause has ``word`` followed by ``number`` with no other number between them."""
    for clause in clauses:
        start = clause.find(word)
        while start != -1:
            rest = clause[start + len(word) : start + len(word) + _BIND_WINDOW + len(number)]
            m = _NUMBER.search(rest)
            if m is not None and m.group() == number and not re.search(r"\d", rest[: m.start()]):
                return True
            start = clause.find(word, start + 1)
    return False


def unsupported_claims(sentence: str, sources: list[str]) -> list[str]:
    """Why ``sentence`` is not supported by ``sources`` (empty: supported).

    >>> src = ["予阿司匹林100mg qd、替格瑞洛90mg bid双联抗血小板。", "患者无胸痛。"]
    >>> unsupported_claims("予阿司匹林100mg、替格瑞洛90mg双联抗血小板。", src)
    []
    >>> unsupported_claims("予阿司匹林90mg抗血小板。", src)
    ['阿司匹林 90mg not bound as in the sources']
    >>> unsupported_claims("患者胸痛。", src)
    ['胸痛: polarity differs']
    >>> unsupported_claims("予阿司匹林100g。", src)
    ['number 100g']
    >>> "number 75mg" in unsupported_claims("予氯吡格雷75mg。", src)
    True
    """
    text = fold_for_matching(sentence)
    source_text = fold_for_matching("\n".join(sources))
    source_lower = source_text.lower()
    source_clauses = _clauses(source_text)
    source_numbers = _numbers(source_text)
    reasons: list[str] = []
    for clause in _clauses(text):
        for m in _NUMBER.finditer(clause):
            if m.group() not in source_numbers:
                reasons.append(f"number {m.group()}")
                continue
            word = _bound_word(clause, m.start())
            if word is not None and not _binds(word, m.group(), source_clauses):
                reasons.append(f"{word} {m.group()} not bound as in the sources")
        for word in dict.fromkeys(w for w in tokens(clause) if _content(w)):
            if word not in source_lower:
                reasons.append(word)
                continue
            polarity = _negated(clause, clause.lower().find(word))
            found = {_negated(c, c.lower().find(word)) for c in source_clauses if word in c.lower()}
            if polarity not in found:
                reasons.append(f"{word}: polarity differs")
    return reasons
