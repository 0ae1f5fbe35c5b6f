"""Negation and uncertainty scope (a NegEx-style clause window for Chinese)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from agents.lexical.lexicon import CueOverrides, Cues

Polarity = Literal["affirmed", "negated", "uncertain"]


@dataclass(frozen=True, slots=True)
class CueSet:
    negation_pre: tuple[str, ...]
    negation_post: tuple[str, ...]
    uncertainty_pre: tuple[str, ...]
    uncertainty_post: tuple[str, ...]
    pseudo: tuple[str, ...]
    terminators: tuple[str, ...]
    window: int
    post_reach: frozenset[str] = frozenset()
    pending_clause: tuple[str, ...] = ()

    @classmethod
    def build(
        cls, cues: Cues, negation: CueOverrides | None = None, uncertainty: CueOverrides | None = None
    ) -> CueSet:
        def merged(base: list[str], over: CueOverrides | None) -> tuple[str, ...]:
            if over is None:
                return tuple(base)
            if over.off:
                return ()
            return tuple(c for c in [*base, *over.add] if c not in over.remove)

        def merged_post(base: list[str], over: CueOverrides | None) -> tuple[str, ...]:
            cues_ = merged(base, over)
            if over is None or over.off:
                return cues_
            return cues_ + tuple(c for c in over.add_post if c not in cues_ and c not in over.remove)

        return cls(
            negation_pre=merged(cues.negation_pre, negation),
            negation_post=merged_post(cues.negation_post, negation),
            uncertainty_pre=merged(cues.uncertainty_pre, uncertainty),
            uncertainty_post=merged_post(cues.uncertainty_post, uncertainty),
            pseudo=tuple(cues.pseudo),
            terminators=tuple(cues.terminators),
            window=cues.window,
            post_reach=frozenset(cues.post_reach),
            pending_clause=()
            if uncertainty is not None and uncertainty.off
            else tuple(c for c in cues.pending_clause if uncertainty is None or c not in uncertainty.remove),
        )


def masked(text: str, pseudo: tuple[str, ...]) -> str:
    """``text`` with pseudo-cue phrases blanked out so their cue characters do not count."""
    if not pseudo:
        return text
    pattern = _pseudo_pattern(pseudo)
    if pattern.search(text) is None:  # the common case: one scan, no copy
        return text
    for phrase in pseudo:
        text = text.replace(phrase, "□" * len(phrase))
    return text


@lru_cache(maxsize=64)
def _pseudo_pattern(pseudo: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(p) for p in pseudo))


def _closest_pre(pre: str, cues: tuple[str, ...]) -> tuple[int, int] | None:
    """(start, end) of the cue occurrence ending nearest the end of ``pre`` (longest on ties)."""
    best: tuple[int, int] | None = None
    for cue in cues:
        pos = pre.rfind(cue)
        if pos < 0:
            continue
        span = (pos, pos + len(cue))
        if best is None or span[1] > best[1] or (span[1] == best[1] and span[0] < best[0]):
            best = span
    return best


#: Characters after a clause-final post cue that do not make it a pre cue of something else (。 了 中 …).
_TAIL_SLACK = 2
_TAIL_STRIP = " \t\r\n，,；;、:：。.！!？?）)]】"


def polarity(clause: str, start: int, end: int, cues: CueSet) -> Polarity:
    """Polarity of the mention ``clause[start:end]``.

    A pre cue counts when it lies within ``cues.window`` characters before the mention with no
    terminator in between; a post cue counts when it directly follows the mention (up to 4 characters),
    or further on when it ends the clause (视野检查因视力差未能完成) with no terminator in between.

    >>> from agents.lexical.lexicon import text_rules
    >>> cs = CueSet.build(text_rules().cues)
    >>> polarity("故未行静脉溶栓治疗", 3, 7, cs)
    'negated'
    >>> polarity("患者无明显诱因出现胸痛", 9, 11, cs)
    'affirmed'
    >>> polarity("颅脑CT：脑梗塞可能大", 5, 8, cs)
    'uncertain'
    >>> polarity("视野检查因视力差未能完成。", 0, 4, cs)
    'negated'
    """
    text = masked(clause, cues.pseudo)
    lo = max(0, start - cues.window)
    pre = text[lo:start]
    post = text[end : end + 6]
    found: list[tuple[int, int, Polarity]] = []
    for kind, pre_cues in (("negated", cues.negation_pre), ("uncertain", cues.uncertainty_pre)):
        span = _closest_pre(pre, pre_cues)
        if span is not None and not any(t in pre[span[1] :] for t in cues.terminators):
            found.append((span[1], span[1] - span[0], kind))  # type: ignore[arg-type]
    if found:  # the cue nearest the mention wins; on a tie the longer (不除外 over 除外)
        return max(found)[2]
    for kind, post_cues in (("uncertain", cues.uncertainty_post), ("negated", cues.negation_post)):
        hits = [post.find(c) for c in post_cues if 0 <= post.find(c) <= 4]
        if hits:
            return kind  # type: ignore[return-value]
    return final_post_cue(text[end:], cues)


def final_post_cue(
    rest: str, cues: CueSet, *, item: bool = False, skip: tuple[tuple[int, int], ...] = ()
) -> Polarity:
    """Polarity from a post cue that ends ``rest`` (the clause after a mention, or a later 、-item of its
    enumeration with ``item=True``): at most two characters may follow the cue (…未能完成了。), no
    terminator may precede it, and in a later item the cue must not open the item (胸片、停用氯吡格雷 is
    the pre cue of 氯吡格雷). Only cues in ``cues.post_reach`` count (not 可能: 彩超提示淋巴结转移可能),
    and not inside a span of ``skip`` (offsets into ``rest``: the entry's own matches, 宫旁组织均未查见癌).

    >>> from agents.lexical.lexicon import text_rules
    >>> cs = CueSet.build(text_rules().cues)
    >>> final_post_cue("凝血功能待回报。", cs, item=True), final_post_cue("未行头颅MRI", cs, item=True)
    ('uncertain', 'affirmed')
    """
    body = masked(rest, cues.pseudo).rstrip(_TAIL_STRIP)
    lead = len(body) - len(body.lstrip())
    best: tuple[int, int, Polarity] | None = None
    for kind, cue in _reaching(cues.uncertainty_post, cues.negation_post, cues.post_reach):
        pos = body.rfind(cue)
        if pos >= 0 and any(lo < pos + len(cue) and pos < hi for lo, hi in skip):
            continue
        if pos < 0 or len(body) - (pos + len(cue)) > _TAIL_SLACK or (item and pos <= lead):
            continue
        if any(t in body[:pos] for t in cues.terminators):
            continue
        cand = (pos + len(cue), len(cue), kind)
        if best is None or cand[:2] > best[:2]:
            best = cand
    return best[2] if best else "affirmed"


@lru_cache(maxsize=256)
def _reaching(
    uncertainty_post: tuple[str, ...], negation_post: tuple[str, ...], reach: frozenset[str]
) -> tuple[tuple[Polarity, str], ...]:
    """The post cues of ``reach``, uncertainty first, each with its polarity."""
    kinds: tuple[tuple[Polarity, tuple[str, ...]], ...] = (
        ("uncertain", uncertainty_post),
        ("negated", negation_post),
    )
    return tuple((kind, cue) for kind, post_cues in kinds for cue in post_cues if cue in reach)


def value_cue(value: str, cues: CueSet) -> Polarity:
    """Polarity of the value part of a "field：value" line when it opens with a post cue about the act
    (``cues.post_reach``): ABCD2评分：未评, 胸部CT：拟明日检查, Hoehn-Yahr分期：未评估.

    >>> from agents.lexical.lexicon import text_rules
    >>> cs = CueSet.build(text_rules().cues)
    >>> value_cue(" 未评估", cs), value_cue("拟明日检查", cs), value_cue("未见异常", cs)
    ('negated', 'uncertain', 'affirmed')
    """
    body = masked(value, cues.pseudo).lstrip()
    best: tuple[int, Polarity] | None = None
    for kind, post_cues in (("uncertain", cues.uncertainty_post), ("negated", cues.negation_post)):
        for cue in post_cues:
            if cue in cues.post_reach and body.startswith(cue) and (best is None or len(cue) > best[0]):
                best = (len(cue), kind)  # type: ignore[assignment]
    return best[1] if best else "affirmed"


def pending_cue(clause: str, cues: CueSet) -> Polarity:
    """'uncertain' when ``clause`` (the one after a mention's clause or enumeration) opens with a
    results-pending phrase of ``cues.pending_clause`` (送检血常规、肝肾功能，结果待回报).

    >>> from agents.lexical.lexicon import text_rules
    >>> cs = CueSet.build(text_rules().cues)
    >>> pending_cue("结果待回报。", cs), pending_cue("结果正常", cs)
    ('uncertain', 'affirmed')
    """
    body = masked(clause, cues.pseudo).lstrip()
    return "uncertain" if any(body.startswith(c) for c in cues.pending_clause) else "affirmed"


def inner_polarity(span: str, cues: CueSet, authored: str = "") -> Polarity:
    """Polarity from a pre cue strictly inside a matched span (脑室系统未见积血 for ``脑室.{0,6}积血``).

    Only characters between the first and the last one of the span are searched; a cue that occurs in
    ``authored`` (the pattern the author wrote, e.g. ``淋巴结.{0,4}未见转移``) is part of the term and does
    not count, nor does a cue followed by a terminator inside the span.

    >>> from agents.lexical.lexicon import text_rules
    >>> cs = CueSet.build(text_rules().cues)
    >>> inner_polarity("脑室系统未见积血", cs), inner_polarity("脑室系统积血", cs)
    ('negated', 'affirmed')
    >>> inner_polarity("淋巴结未见转移", cs, authored="淋巴结.{0,4}未见转移")
    'affirmed'
    """
    inner = masked(span, cues.pseudo)[1:-1]
    found: list[tuple[int, int, Polarity]] = []
    for kind, pre_cues in (("negated", cues.negation_pre), ("uncertain", cues.uncertainty_pre)):
        usable = tuple(c for c in pre_cues if c not in authored)
        cue = _closest_pre(inner, usable)
        if cue is not None and not any(t in inner[cue[1] :] for t in cues.terminators):
            found.append((cue[1], cue[1] - cue[0], kind))  # type: ignore[arg-type]
    return max(found)[2] if found else "affirmed"


_LIST_MARKER = re.compile(r"(?:^|[^\d.])\d+\s*、$|^\s*[一二三四五六七八九十]+、$")


def enumeration_polarity(items: list[str], cues: CueSet) -> Polarity:
    """Polarity a pre cue in an earlier item of a 、-enumeration gives to the items after it.

    ``items`` are the clauses before the mention's clause, nearest last, each ending with its separator.
    The walk back stops at an item not ending with 、, at a list number (1、 一、) and at an item holding a
    terminator; a cue counts when it lies within ``cues.window`` characters before its item's 、.

    >>> from agents.lexical.lexicon import text_rules
    >>> cs = CueSet.build(text_rules().cues)
    >>> enumeration_polarity(["建议行ECT、"], cs), enumeration_polarity(["无发热、", "咳嗽、"], cs)
    ('uncertain', 'negated')
    >>> enumeration_polarity(["诊断：", "1、"], cs), enumeration_polarity(["有发热，"], cs)
    ('affirmed', 'affirmed')
    """
    for item in reversed(items):
        if not item.endswith("、") or _LIST_MARKER.search(item):
            break
        body = masked(item[:-1], cues.pseudo)
        pol = _enumeration_cue(body, cues)
        if pol != "affirmed":
            return pol
        if any(t in body for t in cues.terminators):
            break
    return "affirmed"


#: Characters after which a one-character cue (无, 未, 不, 非) starts a phrase: 患者无…, 均无…
_CUE_LEAD = frozenset("者人均亦也且")


def _enumeration_cue(body: str, cues: CueSet) -> Polarity:
    """The nearest pre cue within ``cues.window`` of the end of an enumeration item. A one-character cue
    counts only at a phrase start (item start, after punctuation or 患者/均/亦…), so the 非 of 替罗非班 or
    the 无 of a word does not negate the following items."""
    lo = max(0, len(body) - cues.window)
    found: list[tuple[int, int, Polarity]] = []
    for kind, pre_cues in (("negated", cues.negation_pre), ("uncertain", cues.uncertainty_pre)):
        for cue in pre_cues:
            pos = body.rfind(cue, lo)
            while pos >= 0:
                lead = body[pos - 1] if pos > 0 else ""
                phrase_start = not lead or not _is_cjk(lead) or lead in _CUE_LEAD
                if len(cue) > 1 or phrase_start:
                    if not any(t in body[pos + len(cue) :] for t in cues.terminators):
                        found.append((pos + len(cue), len(cue), kind))  # type: ignore[arg-type]
                    break
                pos = body.rfind(cue, lo, pos)
    return max(found)[2] if found else "affirmed"


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"
