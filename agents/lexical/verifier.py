"""The lexical verifier: concept lexicons, negation scope, numbers and durations over the note text."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agents.lexical.document import Document
from agents.lexical.lexicon import LexiconEntry, LexiconError, resolve
from agents.lexical.mentions import Mention, cue_set, find_mentions, later_stop
from agents.lexical.quantities import Quantity, durations, number_after
from agents.verifiers.base import Evidence, FactValue, FactVerdict
from agents.verifiers.context import VerificationContext
from measures.catalog.schema import FactSpec

IN_CONTEXT_CONFIDENCE = 0.9
NEGATED_CONFIDENCE = 0.8
#: An assessment the notes never mention was not documented: a weak "no", worth a second opinion.
ABSENT_CONFIDENCE = 0.5
#: How an absence verdict's detail starts (the fact Observation shows it next to the value).
NOT_DOCUMENTED = "not documented"
#: Clause punctuation a number is not read across with ``number.same_clause`` (not ：, not 、).
_CLAUSE_PUNCT = re.compile(r"[，,；;。]")


@dataclass(frozen=True, slots=True)
class _Hit:
    """A candidate answer from one note: value, confidence and the evidence span."""

    value: FactValue
    confidence: float
    reference: str
    start: int
    end: int
    text: str
    more: tuple[tuple[int, int], ...] = ()  # further quoted spans (the other addends of a sum)
    rank: tuple[int, int] = (0, 0)  # (note, offset) of the mention or stop, for on_conflict: last

    def evidence(self) -> Evidence:
        return Evidence(
            reference=self.reference, quote=self.text[self.start : self.end], start=self.start, end=self.end
        )

    def evidences(self) -> list[Evidence]:
        return [self.evidence()] + [
            Evidence(reference=self.reference, quote=self.text[s:e], start=s, end=e) for s, e in self.more
        ]


def _quote_span(m: Mention) -> tuple[int, int]:
    return m.clause_span


def _confidence(entry: LexiconEntry, m: Mention) -> float:
    if m.in_context:
        return IN_CONTEXT_CONFIDENCE
    return entry.outside_context_confidence or 0.0


class LexicalVerifier:
    """Answers boolean, number, duration (hours) and category facts from the notes, with quotes."""

    name = "lexical"

    async def verify(self, fact: FactSpec, ctx: VerificationContext) -> FactVerdict:
        if not fact.lexicon:
            return FactVerdict(fact_id=fact.id, method="lexical", detail="no lexicon entry")
        try:
            entry = resolve(fact.lexicon)
        except LexiconError as exc:
            return FactVerdict(fact_id=fact.id, method="lexical", detail=str(exc))
        positives: list[_Hit] = []
        negatives: list[_Hit] = []
        for i, note in enumerate(ctx.notes):
            doc = ctx.document(note)
            pos, neg = self._hits(entry, doc, note.reference)
            if entry.on_conflict == "last":
                pos = [replace(h, rank=(i, h.rank[1])) for h in pos]
                neg = [replace(h, rank=(i, h.rank[1])) for h in neg]
            positives.extend(pos)
            negatives.extend(neg)
        verdict = self._verdict(fact, entry, positives, negatives)
        if verdict.known or positives or negatives or fact.absent is None or not ctx.notes:
            return verdict
        return FactVerdict(
            fact_id=fact.id,
            value=fact.absent,
            method="lexical",
            confidence=ABSENT_CONFIDENCE,
            evidence=[Evidence(reference=note.reference) for note in ctx.notes[:3]],
            detail=f"{NOT_DOCUMENTED}: no mention in the {len(ctx.notes)} note(s) of the record",
            absent=True,
        )

    def _hits(self, entry: LexiconEntry, doc: Document, ref: str) -> tuple[list[_Hit], list[_Hit]]:
        if entry.kind == "concept":
            return self._concept(entry, doc, ref, True)
        if entry.kind == "number":
            return self._number(entry, doc, ref), []
        if entry.kind == "duration":
            return self._duration(entry, doc, ref), []
        return self._category(entry, doc, ref), []

    def _concept(
        self, entry: LexiconEntry, doc: Document, ref: str, value: FactValue, terms: list[str] | None = None
    ) -> tuple[list[_Hit], list[_Hit]]:
        pos: list[_Hit] = []
        neg: list[_Hit] = []
        last = entry.on_conflict == "last" and entry.kind == "concept"
        mentions = find_mentions(entry, doc, terms, [] if terms is not None else None)
        for i, m in enumerate(mentions):
            start, end = _quote_span(m)
            if m.polarity == "affirmed":
                pos.append(_Hit(value, _confidence(entry, m), ref, start, end, doc.text, rank=(0, m.start)))
                stop = later_stop(m, _next_start(mentions, i, m), cue_set(entry)) if last else None
                if stop is not None:
                    clause = m.sentence.clause_at(stop[0])
                    neg.append(
                        _Hit(
                            entry.on_negated,
                            NEGATED_CONFIDENCE,
                            ref,
                            clause.start,
                            max(clause.end, stop[1]),
                            doc.text,
                            rank=(0, stop[0]),
                        )
                    )
            elif m.polarity == "negated" and (m.in_context or last):
                neg.append(
                    _Hit(entry.on_negated, NEGATED_CONFIDENCE, ref, start, end, doc.text, rank=(0, m.start))
                )
        return pos, neg

    def _number(self, entry: LexiconEntry, doc: Document, ref: str) -> list[_Hit]:
        spec = entry.number
        assert spec is not None
        hits: list[_Hit] = []
        addends: list[tuple[int, int, _Hit]] = []  # select: sum — (scope, number offset, quote)
        bounds: tuple[list[int], list[int]] | None = None
        for m in find_mentions(entry, doc):
            if m.polarity != "affirmed":
                continue
            hi = m.sentence.end
            if spec.same_clause:
                cut = _CLAUSE_PUNCT.search(doc.text, m.end, hi)
                hi = cut.start() if cut else hi
            q = _read_number(entry, doc.text, m.end, hi)
            if q is None:
                continue
            value = _value(entry, q)
            if value is None:
                continue
            conf = _confidence(entry, m) * (0.8 if q.comparator else 1.0)
            hits.append(_Hit(value, conf, ref, m.start, q.end, doc.text))
            if spec.select == "sum":
                bounds = bounds or _list_bounds(doc)
                index = m.sentence.index
                scope = bounds[0][index] if spec.sum_scope == "sentence" else doc.section_start(m.start)
                addends.append((scope, q.start, hits[-1]))
                for at, hit in _enumerated(entry, doc, q, bounds[1][index], conf, ref):
                    addends.append((scope, at, hit))
        return _sums(addends, spec.max) if spec.select == "sum" else hits

    def _duration(self, entry: LexiconEntry, doc: Document, ref: str) -> list[_Hit]:
        spec = entry.duration
        assert spec is not None
        hits: list[_Hit] = []
        for sentence in doc.sentences:
            free = not sentence.aliases.isdisjoint(spec.sections)
            for d in durations(doc.text, sentence.start, sentence.end):
                clause = sentence.clause_at(d.start)
                before = doc.text[max(clause.start, d.start - spec.window) : d.start]
                after = doc.text[d.end : min(sentence.end, d.end + spec.window)]
                anchored = any(b in before for b in spec.before) or any(
                    after.startswith(a) for a in spec.after
                )
                if free or anchored:
                    hits.append(_Hit(d.hours, 0.8, ref, clause.start, max(clause.end, d.end), doc.text))
        if not hits:
            return []
        if spec.select == "first":
            return hits[:1]
        chosen = (min if spec.select == "min" else max)(hits, key=lambda h: float(h.value or 0))
        return [chosen]

    def _category(self, entry: LexiconEntry, doc: Document, ref: str) -> list[_Hit]:
        for value, terms in entry.values.items():
            pos, _ = self._concept(entry, doc, ref, value, terms)
            if pos:
                return pos
        return []

    @staticmethod
    def _verdict(fact: FactSpec, entry: LexiconEntry, pos: list[_Hit], neg: list[_Hit]) -> FactVerdict:
        if entry.on_conflict == "last" and entry.kind == "concept" and pos and neg:
            latest = max([*pos, *neg], key=lambda h: h.rank)
            if latest in neg:
                if entry.on_negated is None:
                    return FactVerdict(fact_id=fact.id, method="lexical", detail="stopped after use")
                return FactVerdict(
                    fact_id=fact.id,
                    value=entry.on_negated,
                    method="lexical",
                    confidence=NEGATED_CONFIDENCE,
                    evidence=[latest.evidence()],
                    detail="the last mention is negated (on_conflict: last)",
                )
        if pos:
            if entry.kind == "category":
                order = list(entry.values)
                pos.sort(key=lambda h: order.index(str(h.value)))
                pos = [h for h in pos if h.value == pos[0].value]
            elif entry.kind == "number":
                select = entry.number.select if entry.number else "first"
                if select in {"max", "min"}:
                    pick = max if select == "max" else min
                    pos = [pick(pos, key=lambda h: float(h.value or 0))]
                pos = pos[:1]
            best = max(h.confidence for h in pos)
            return FactVerdict(
                fact_id=fact.id,
                value=pos[0].value,
                method="lexical",
                confidence=best,
                evidence=[e for h in pos[:3] for e in h.evidences()],
            )
        if neg and entry.on_negated is not None:
            return FactVerdict(
                fact_id=fact.id,
                value=entry.on_negated,
                method="lexical",
                confidence=NEGATED_CONFIDENCE,
                evidence=[h.evidence() for h in neg[:3]],
                detail="negated mention",
            )
        return FactVerdict(fact_id=fact.id, method="lexical", detail="no mention")


def _next_start(mentions: list[Mention], i: int, m: Mention) -> int:
    """Where the stop search after mention ``i`` ends: the next mention in its sentence, else its end."""
    nxt = mentions[i + 1].start if i + 1 < len(mentions) else m.sentence.end
    return min(nxt, m.sentence.end) if nxt > m.end else m.sentence.end


#: "；" before a list number (；2.中间组淋巴结): the enumeration goes on in the next sentence.
_LIST_CONTINUES = re.compile(r"；\s*\d+[.、．]")


def _list_bounds(doc: Document) -> tuple[list[int], list[int]]:
    """Start and end, per sentence, of the numbered list it belongs to: sentences joined by "；N."
    (1.肠周淋巴结(0/5)；2.中间组淋巴结(0/4)) are one scope for ``select: sum``. One pass each way."""
    n = len(doc.sentences)
    joined = [
        i + 1 < n and bool(_LIST_CONTINUES.match(doc.text, s.end - 1)) for i, s in enumerate(doc.sentences)
    ]
    starts = [0] * n
    ends = [0] * n
    for i, s in enumerate(doc.sentences):
        starts[i] = starts[i - 1] if i > 0 and joined[i - 1] else s.start
    for i in reversed(range(n)):
        ends[i] = ends[i + 1] if joined[i] else doc.sentences[i].end
    return starts, ends


def _read_number(entry: LexiconEntry, text: str, pos: int, hi: int) -> Quantity | None:
    spec = entry.number
    assert spec is not None
    return number_after(
        text, pos, unit=spec.unit, max_gap=spec.max_gap, value_pattern=spec.value_pattern, hi=hi
    )


def _value(entry: LexiconEntry, q: Quantity) -> float | None:
    """The number as the fact's value (``scale_fraction`` applied), or None outside ``min``/``max``."""
    spec = entry.number
    assert spec is not None
    value = round(q.value * 100, 6) if spec.scale_fraction and q.value <= 1 else q.value
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        return None
    return value


def _enumerated(
    entry: LexiconEntry, doc: Document, first: Quantity, hi: int, conf: float, ref: str
) -> list[tuple[int, _Hit]]:
    """Counts enumerated after ``first`` without an anchor of their own (肠旁4枚、中间4枚、中央4枚): each
    next number within ``max_gap`` of the previous one with no ，；。 in between (a "；" before a list number,
    ；2., does not cut); quoted by its clause."""
    out: list[tuple[int, _Hit]] = []
    q = first
    for _ in range(_MAX_ENUMERATED):
        cut = _CLAUSE_PUNCT.search(doc.text, q.end, hi)
        while cut is not None and _LIST_CONTINUES.match(doc.text, cut.start()):
            cut = _CLAUSE_PUNCT.search(doc.text, cut.end(), hi)
        nxt = _read_number(entry, doc.text, q.end, cut.start() if cut else hi)
        if nxt is None or nxt.start <= q.start:
            return out
        value = _value(entry, nxt)
        if value is not None:
            clause = doc.sentence_at(nxt.start).clause_at(nxt.start)
            out.append((nxt.start, _Hit(value, conf, ref, clause.start, max(clause.end, nxt.end), doc.text)))
        q = nxt
    return out


#: Counts read after one anchor at most (a real station list has a few dozen).
_MAX_ENUMERATED = 64


def _sums(addends: list[tuple[int, int, _Hit]], hi: float | None) -> list[_Hit]:
    """One hit per scope (document order) valued at the sum of its distinct numbers, quoting every addend.

    A number read both after an anchor and as an enumerated count counts once; a total above ``hi`` (the
    entry's ``max``) is dropped.
    """
    groups: dict[int, dict[int, _Hit]] = {}
    for scope, at, hit in addends:
        groups.setdefault(scope, {}).setdefault(at, hit)
    out: list[_Hit] = []
    for parts in groups.values():
        items = [parts[at] for at in sorted(parts)]
        total = sum(float(h.value or 0) for h in items)
        if hi is not None and total > hi:
            continue
        first, rest = items[0], items[1:]
        conf = min(h.confidence for h in items)
        more = tuple((h.start, h.end) for h in rest)
        out.append(_Hit(total, conf, first.reference, first.start, first.end, first.text, more))
    return out
