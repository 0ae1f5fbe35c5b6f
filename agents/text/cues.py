"""Negation and uncertainty scope (a NegEx-style clause window for Chinese)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from knowledge_base.lexicon import CueOverrides, Cues

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

    @classmethod
    def build(
        cls, cues: Cues, negation: CueOverrides | None = None, uncertainty: CueOverrides | None = None
    ) -> CueSet:
        def merged(base: list[str], over: CueOverrides | None) -> tuple[str, ...]:
            if over is None:
                return tuple(base)
            return tuple(c for c in [*base, *over.add] if c not in over.remove)

        return cls(
            negation_pre=merged(cues.negation_pre, negation),
            negation_post=merged(cues.negation_post, negation),
            uncertainty_pre=merged(cues.uncertainty_pre, uncertainty),
            uncertainty_post=merged(cues.uncertainty_post, uncertainty),
            pseudo=tuple(cues.pseudo),
            terminators=tuple(cues.terminators),
            window=cues.window,
        )


def _masked(text: str, pseudo: tuple[str, ...]) -> str:
    """``text`` with pseudo-cue phrases blanked out so their cue characters do not count."""
    for phrase in pseudo:
        text = text.replace(phrase, "□" * len(phrase))
    return text


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


def polarity(clause: str, start: int, end: int, cues: CueSet) -> Polarity:
    """Polarity of the mention ``clause[start:end]``.

    A pre cue counts when it lies within ``cues.window`` characters before the mention with no
    terminator in between; a post cue counts when it directly follows the mention (up to 4 characters).

    >>> from knowledge_base.lexicon import text_rules
    >>> cs = CueSet.build(text_rules().cues)
    >>> polarity("故未行静脉溶栓治疗", 3, 7, cs)
    'negated'
    >>> polarity("患者无明显诱因出现胸痛", 9, 11, cs)
    'affirmed'
    >>> polarity("颅脑CT：脑梗塞可能大", 5, 8, cs)
    'uncertain'
    """
    text = _masked(clause, cues.pseudo)
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
    return "affirmed"
