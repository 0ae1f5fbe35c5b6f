"""Apply the implied-code rules (:mod:`knowledge_base.icd.implied`) to a record's sections."""

from __future__ import annotations

from agents.drafting.sections import Section, Span
from knowledge_base.icd.implied import implied_rules


def implied_codes(course: list[Section], context: list[Section]) -> list[tuple[str, Span]]:
    """``(code, evidence)`` for each rule whose first pattern matches a ``course`` section, whose other
    patterns match the course or ``context`` sections (the diagnosis lists), and whose exclusions match
    none of them; the evidence is the first pattern's match."""
    everything = "\n".join(s.text for s in [*course, *context])
    out: list[tuple[str, Span]] = []
    for rule in implied_rules():
        if any(p.search(everything) for p in rule.none) or not all(
            p.search(everything) for p in rule.all[1:]
        ):
            continue
        for section in course:
            first = rule.all[0].search(section.text)
            if first:
                base = section.span
                quote = Span(
                    base.reference, base.start + first.start(), base.start + first.end(), first.group()
                )
                out.append((rule.code, quote))
                break
    return out
