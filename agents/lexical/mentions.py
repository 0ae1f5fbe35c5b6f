"""Find a lexicon entry's mentions in an analysed note: term matching, section/context filters, polarity."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache

from agents.lexical.cues import (
    CueSet,
    Polarity,
    enumeration_polarity,
    final_post_cue,
    inner_polarity,
    masked,
    pending_cue,
    polarity,
    value_cue,
)
from agents.lexical.dictionaries import tolerant_spans
from agents.lexical.document import Clause, Document, Sentence
from agents.lexical.lexicon import LexiconEntry, LexiconError, resolve, text_rules
from agents.lexical.prefilter import guarded


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    sentence: Sentence
    polarity: Polarity
    in_context: bool

    @property
    def clause_span(self) -> tuple[int, int]:
        clause = self.sentence.clause_at(self.start)
        return clause.start, max(clause.end, self.end)


def _term_pattern(term: str) -> str:
    if term.startswith("re:"):
        return f"(?:{with_variants(term[3:])})"
    escaped = re.escape(term)
    if term.isascii() and term[:1].isalnum():
        return rf"(?<![A-Za-z]){escaped}(?![A-Za-z])"
    return with_variants(escaped)


def with_variants(source: str) -> str:
    """``source`` (a regex) with each report-variant word outside a character class written as the
    alternation of its variants (``_text.yaml`` ``variants``: 切缘 → 切缘|断端|残端|切端), so a lexicon
    names one form and matches every way a report writes it.

    >>> with_variants("切缘阴性"), with_variants("[切缘]")
    ('(?:切缘|断端|残端|切端)阴性', '[切缘]')
    """
    table = text_rules().variants
    if not table or not any(word in source for word in table):
        return source
    out: list[str] = []
    i, in_class = 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        else:
            word = next((w for w in table if source.startswith(w, i)), None)
            if word is not None:
                out.append("(?:" + "|".join([word, *table[word]]) + ")")
                i += len(word)
                continue
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=2048)
def compile_terms(terms: tuple[str, ...], patterns: tuple[str, ...] = ()) -> re.Pattern[str] | None:
    """One alternation, longest terms first, case-insensitive; None when there is nothing to match.

    A term written ``re:<pattern>`` is a regular expression. The alternation is guarded by its possible
    first characters (:func:`agents.lexical.prefilter.guarded`): same matches, far fewer attempts.
    """
    alts = [_term_pattern(t) for t in sorted(set(terms), key=len, reverse=True) if t]
    alts.extend(f"(?:{p})" for p in patterns)
    return re.compile(guarded("|".join(alts), re.IGNORECASE), re.IGNORECASE) if alts else None


def _authored_pattern(entry_terms: tuple[str, ...], patterns: tuple[str, ...], matched: str) -> str | None:
    """The regex source(s) that produced ``matched``; None when it is a literal term (cues inside a
    literal term such as 不稳定型心绞痛 are part of the term)."""
    folded = matched.casefold()
    if any(t.casefold() == folded for t in entry_terms if not t.startswith("re:")):
        return None
    sources = [t[3:] for t in entry_terms if t.startswith("re:")] + list(patterns)
    hits = [p for p in sources if re.fullmatch(p, matched, re.IGNORECASE)]
    return "\n".join(hits) if hits else None


def mention_polarity(
    sentence: Sentence,
    start: int,
    end: int,
    cues: CueSet,
    authored: str | None = None,
    *,
    spans: tuple[tuple[int, int], ...] = (),
    group: tuple[int, int] | None = None,
) -> Polarity:
    """Polarity of the mention ``[start, end)`` (note offsets) in ``sentence``: cues in its clause, else a
    cue inside a regex match (``authored`` = the regex source), else a cue earlier in a 、-enumeration,
    else a post cue about the act later on (end of its clause or enumeration, the value after a "：",
    a results-pending clause). ``spans`` are the entry's matches (cues inside them do not count as post
    cues); ``group`` is the "full name（abbreviation）" span the mention belongs to, whose polarity it
    takes when its own is affirmed."""
    pol = _own_polarity(sentence, start, end, cues, authored, spans)
    if pol == "affirmed" and group is not None and group != (start, end):
        pol = _own_polarity(sentence, group[0], group[1], cues, None, spans)
    return pol


def _own_polarity(
    sentence: Sentence,
    start: int,
    end: int,
    cues: CueSet,
    authored: str | None,
    spans: tuple[tuple[int, int], ...],
) -> Polarity:
    clause = sentence.clause_at(start)
    rel = start - clause.start
    pol = polarity(clause.text, rel, rel + (end - start), cues)
    if pol != "affirmed":
        return pol
    if authored is not None and end - start > 2:
        pol = inner_polarity(sentence.text[start - sentence.start : end - sentence.start], cues, authored)
        if pol != "affirmed":
            return pol
    before = [c for c in sentence.clauses if c.end <= clause.start]
    if before and not any(t in clause.text[:rel] for t in cues.terminators):
        pol = enumeration_polarity([c.text for c in before], cues)
        if pol != "affirmed":
            return pol
    return _later_polarity(sentence, clause, end, cues, spans)


#: Characters a "field：" may hold after the mention (ABCD2评分：, Hoehn-Yahr分期：).
_FIELD_TAIL = 6


def _later_polarity(
    sentence: Sentence, clause: Clause, end: int, cues: CueSet, spans: tuple[tuple[int, int], ...]
) -> Polarity:
    """A post cue after the mention's clause: ending a later item of its 、-enumeration (胸片、凝血功能
    待回报) — the walk goes forward while items end with 、 and stops after the first one that does not,
    at a terminator and at a list number (1、) —, opening the value after a "：" that ends the mention's
    clause or the enumeration (ABCD2评分：未评), or a results-pending clause right after them
    (送检血常规、肝肾功能，结果待回报). Parts of items inside ``spans`` (the entry's matches, the
    mention's own included) are not searched."""
    tail = sentence.text[end - sentence.start : clause.end - sentence.start]
    if any(t in tail for t in cues.terminators):
        return "affirmed"
    last = clause
    if clause.text.endswith("、"):
        for item in (c for c in sentence.clauses if c.start >= clause.end):
            if _LIST_NUMBER.match(item.text):
                return "affirmed"
            lo = max(item.start, end)
            skip = tuple((max(a, lo) - lo, b - lo) for a, b in spans if b > lo and a < item.end)
            text = sentence.text[lo - sentence.start : item.end - sentence.start]
            pol = final_post_cue(text, cues, item=True, skip=skip) if text.strip() else "affirmed"
            if pol != "affirmed":
                return pol
            last = item
            if not item.text.endswith("、") or any(t in item.text for t in cues.terminators):
                break
        else:
            return "affirmed"
    return _after_clause(sentence, last, end, cues)


def _after_clause(sentence: Sentence, last: Clause, end: int, cues: CueSet) -> Polarity:
    """The clause after ``last`` (the mention's clause or the last item of its enumeration): a "："
    value opening with a post cue, or a results-pending clause after a "，"."""
    nxt = next((c for c in sentence.clauses if c.start >= last.end), None)
    if nxt is None:
        return "affirmed"
    head = last.text.rstrip()
    if head.endswith(("：", ":")):
        field = sentence.text[max(end, last.start) - sentence.start : last.end - sentence.start]
        if len(field.strip().rstrip("：:")) <= _FIELD_TAIL:
            return value_cue(nxt.text, cues)
        return "affirmed"
    if head.endswith(("，", ",")):
        return pending_cue(nxt.text, cues)
    return "affirmed"


_LIST_NUMBER = re.compile(r"^\s*(?:\d+|[一二三四五六七八九十]+)\s*、")


_OPEN = ("（", "(")
_BRACKET_BODY = re.compile(r"[^（()），,；;、。:：！？!?\n]{0,24}?[)）]")


def bracket_group(
    text: str,
    start: int,
    end: int,
    spans: tuple[tuple[int, int], ...],
    *,
    heads: dict[int, int] | None = None,
) -> tuple[int, int] | None:
    """The "full name（abbreviation）" span of the mention ``[start, end)``: from the full name to the
    closing bracket, when the mention is a term directly followed by a bracketed part (统一帕金森病评定量表
    （UPDRS）) or lies inside brackets directly following another match of ``spans`` (经皮冠状动脉介入
    治疗(PCI)). A cue applying to the full name applies to the abbreviation and back. ``heads`` (end →
    start of the non-empty ``spans``) saves rebuilding that index per mention.

    >>> text = "未行统一帕金森病评定量表（UPDRS）评估"
    >>> bracket_group(text, 2, 12, ((2, 12), (13, 18))), bracket_group(text, 13, 18, ((2, 12), (13, 18)))
    ((2, 19), (2, 19))
    """
    after = _skip_blanks(text, end, 1)
    if text.startswith(_OPEN, after):
        close = _BRACKET_BODY.match(text, after + 1)
        if close is not None:
            return start, close.end()
    before = _skip_blanks(text, start, -1)
    if before > 0 and text[before - 1] in "（(":
        head_end = _skip_blanks(text, before - 1, -1)
        index = heads if heads is not None else {e: s for s, e in reversed(spans) if s < e}
        head = index.get(head_end)
        close = _BRACKET_BODY.match(text, end)
        if head is not None and close is not None:
            return head, close.end()
    return None


def _skip_blanks(text: str, pos: int, step: int) -> int:
    """From ``pos`` forward (step 1) or backward (step -1, ``pos`` an end), past spaces and tabs."""
    if step > 0:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
    else:
        while pos > 0 and text[pos - 1] in " \t":
            pos -= 1
    return pos


def contains_any(text: str, terms: list[str]) -> bool:
    pattern = compile_terms(tuple(terms))
    return bool(pattern and pattern.search(text))


def _affirmed_in(sentence: Sentence, terms: list[str], cues: CueSet) -> bool:
    """Whether one of ``terms`` occurs affirmed in ``sentence`` (活检 in 行穿刺活检, not in 未行活检)."""
    pattern = compile_terms(tuple(terms))
    if pattern is None:
        return False
    for m in pattern.finditer(sentence.text):
        if m.end() > m.start():
            start = sentence.start + m.start()
            if mention_polarity(sentence, start, start + (m.end() - m.start()), cues) == "affirmed":
                return True
    return False


#: What may follow a clause-final stop (后因低血压停用了 / 停用该药) without it taking an object of its own.
_STOP_TAIL = re.compile(r"(?:了|该药|此药|上药|上述药物|药物|治疗)?")
_STOP_STRIP = " \t\r\n，,；;、:：。.！!？?）)]】"


def later_stop(mention: Mention, limit: int, cues: CueSet) -> tuple[int, int] | None:
    """The span of a clause-final negation cue (停用, 已停, 拒绝 …) with no object of its own in a later
    clause of the mention's sentence, before ``limit`` (the next mention): 予美托洛尔，后因低血压停用 stops
    美托洛尔. Only cues of two characters or more count; terminators (后) do not block."""
    sentence = mention.sentence
    own = sentence.clause_at(mention.start)
    stop_cues = sorted({c for c in (*cues.negation_post, *cues.negation_pre) if len(c) > 1}, key=len)
    for clause in sentence.clauses:
        if clause.start < own.end or clause.start >= limit:
            continue
        body = masked(clause.text[: max(0, limit - clause.start)], cues.pseudo).rstrip(_STOP_STRIP)
        for cue in reversed(stop_cues):
            pos = body.rfind(cue)
            if pos >= 0 and _STOP_TAIL.fullmatch(body[pos + len(cue) :]):
                return clause.start + pos, clause.start + pos + len(cue)
    return None


_CUE_SETS: dict[int, tuple[LexiconEntry, CueSet, CueSet, CueSet]] = {}
#: Sections of the discharge: an entry whose context_sections name one reads discharge medication.
_DISCHARGE = frozenset({"出院医嘱", "出院情况"})
#: The history section: an entry excluding it is about this stay (treatments, procedures, tests).
_HISTORY = "既往史"


def cue_set(entry: LexiconEntry, *, report: bool = False, plan: bool = False) -> CueSet:
    """The default cues with the entry's overrides (cached per entry object); with ``report``, the cues
    of a pathology or imaging report, where the report cues (考虑, 倾向) state the finding; with ``plan``,
    the cues of a plan for after discharge, where the plan cues (建议, 拟) do not hedge."""
    cached = _CUE_SETS.get(id(entry))
    if cached is None or cached[0] is not entry:
        rules = text_rules()
        plain = CueSet.build(rules.cues, entry.negation, entry.uncertainty)
        cached = _CUE_SETS[id(entry)] = (
            entry,
            plain,
            _without(plain, frozenset(rules.report_cues)),
            _without(plain, frozenset(rules.plan_cues)),
        )
    return cached[2] if report else cached[3] if plan else cached[1]


def _without(cues: CueSet, dropped: frozenset[str]) -> CueSet:
    return replace(
        cues,
        uncertainty_pre=tuple(c for c in cues.uncertainty_pre if c not in dropped),
        uncertainty_post=tuple(c for c in cues.uncertainty_post if c not in dropped),
    )


def plan_start(sentence: Sentence) -> int | None:
    """Where a plan for after discharge starts in ``sentence``: its start in a discharge section, else
    the end of the first discharge-plan marker (出院后, 院外), else None.

    >>> from agents.lexical.document import analyse
    >>> [plan_start(s) for s in analyse("建议行PCI。出院医嘱：建议继续口服阿司匹林。").sentences]
    [None, 7]
    """
    if not sentence.aliases.isdisjoint(_DISCHARGE):
        return sentence.start
    markers = text_rules().discharge_plan
    found = [i for i in (sentence.text.find(m) for m in markers) if i >= 0]
    return sentence.start + min(found) if found else None


@lru_cache(maxsize=4)
def _report_marker(markers: tuple[str, ...]) -> re.Pattern[str] | None:
    if not markers:
        return None
    return re.compile(guarded("|".join(f"(?:{m})" for m in markers), re.IGNORECASE), re.IGNORECASE)


def report_start(sentence: Sentence) -> int | None:
    """Where the report conventions start in ``sentence``: its start in a report record (病理报告), else
    the end of the first report statement opener in it (病理示, CT提示：, 活检病理：), else None.

    >>> from agents.lexical.document import analyse
    >>> [report_start(s) for s in analyse("胸痛考虑心绞痛。胃镜活检病理示：考虑腺癌。").sentences]
    [None, 16]
    """
    if sentence.report:
        return sentence.start
    if not sentence.report_from:  # once per sentence, not per entry
        pattern = _report_marker(tuple(text_rules().report_markers))
        m = pattern.search(sentence.text) if pattern is not None else None
        sentence.report_from.append(sentence.start + m.end() if m is not None else None)
    return sentence.report_from[0]


def find_mentions(
    entry: LexiconEntry, doc: Document, terms: list[str] | None = None, regex: list[str] | None = None
) -> list[Mention]:
    """Mentions of ``terms`` (default: the entry's) that pass the entry's section, exclude/require filters.

    Linear in the note: one pass of the entry's pattern, each sentence-level test run once per sentence,
    and the polarity of a mention read within its (bounded) sentence.
    """
    all_terms = tuple(entry.terms if terms is None else terms)
    patterns = tuple(entry.regex if regex is None else regex)
    pattern = compile_terms(all_terms, patterns)
    if pattern is None:
        return []
    cues = cue_set(entry)
    not_before = _procedure_end(entry, doc)
    out: list[Mention] = []
    exact = [m.span() for m in pattern.finditer(doc.text) if m.end() > m.start()]
    literal = tuple(t for t in all_terms if not t.startswith("re:"))
    tolerant = tolerant_spans(doc.text, literal, exact)
    spans = tuple(sorted(exact + tolerant)) if tolerant else tuple(exact)
    ends = [e for _, e in spans]
    heads = {e: s for s, e in reversed(spans)}
    per_sentence: dict[int, tuple[bool, bool, tuple[tuple[int, int], ...], int | None]] = {}
    discharge_entry = not _DISCHARGE.isdisjoint(entry.context_sections)
    for start, end in spans:
        if start < not_before:
            continue  # an outcome told before the procedure it judges
        sentence = doc.sentence_at(start)
        if entry.sections and sentence.aliases.isdisjoint(entry.sections):
            continue
        if not sentence.aliases.isdisjoint(entry.exclude_sections):
            continue
        if sentence.earlier and _HISTORY in entry.exclude_sections:
            continue  # an earlier stay (3年前行PCI术) is history for this entry
        clause = sentence.clause_at(start)
        if entry.exclude and contains_any(clause.text, entry.exclude):
            continue
        tests = per_sentence.get(sentence.index)
        if tests is None:
            tests = per_sentence[sentence.index] = _sentence_tests(entry, sentence, cues, spans, ends)
        passes, in_sentence_context, local, report_from = tests
        plan_from = plan_start(sentence) if discharge_entry else None
        if not passes:
            continue
        in_context = not (entry.context or entry.context_sections) or (
            not sentence.aliases.isdisjoint(entry.context_sections) or in_sentence_context
        )
        if not in_context and entry.outside_context_confidence is None:
            continue
        authored = _authored_pattern(all_terms, patterns, doc.text[start:end]) if entry.inner_cues else None
        group = bracket_group(doc.text, start, end, local, heads=heads)
        in_report = report_from is not None and start >= report_from
        in_plan = plan_from is not None and start >= plan_from
        reading = cue_set(entry, report=True) if in_report else cue_set(entry, plan=True) if in_plan else cues
        pol = mention_polarity(sentence, start, end, reading, authored, spans=local, group=group)
        out.append(Mention(start, end, sentence, pol, in_context))
    return out


def _procedure_end(entry: LexiconEntry, doc: Document) -> int:
    """End of the first affirmed mention of the procedure an outcome entry judges (``entry.after``), or
    0 when the entry judges none or the note does not mention it (then the order cannot be told)."""
    if entry.after is None:
        return 0
    procedure = resolve(entry.after)
    if procedure.after is not None:
        raise LexiconError(f"{entry.after}: the procedure of an outcome cannot itself be an outcome")
    return min((m.end for m in find_mentions(procedure, doc) if m.polarity == "affirmed"), default=0)


def _sentence_tests(
    entry: LexiconEntry,
    sentence: Sentence,
    cues: CueSet,
    spans: tuple[tuple[int, int], ...],
    ends: list[int],
) -> tuple[bool, bool, tuple[tuple[int, int], ...], int | None]:
    """Per sentence, once: whether its mentions pass ``exclude_sentence``/``require``, whether it holds a
    ``context`` term, the entry's matches that overlap it, and where report conventions start in it."""
    passes = not (entry.exclude_sentence and contains_any(sentence.text, entry.exclude_sentence))
    if passes and entry.require:
        passes = (
            _affirmed_in(sentence, entry.require, cues)
            if entry.require_affirmed
            else contains_any(sentence.text, entry.require)
        )
    context = bool(entry.context) and contains_any(sentence.text, entry.context)
    lo = bisect_right(ends, sentence.start)
    hi = lo
    while hi < len(spans) and spans[hi][0] < sentence.end:
        hi += 1
    return passes, context, spans[lo:hi], report_start(sentence)
