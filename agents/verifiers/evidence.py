"""Evidence or nothing: every quote must be found verbatim (after whitespace normalisation) in its note."""

from __future__ import annotations

from agents.lexical.normalize import find_verbatim, fold_for_matching
from agents.verifiers.base import Evidence, FactVerdict
from agents.verifiers.context import VerificationContext


def _locate(ev: Evidence, ctx: VerificationContext) -> Evidence | None:
    """The quote with exact offsets in its note, or None when it is not in any note of the record."""
    assert ev.quote is not None
    notes = [n for n in ctx.notes if n.reference == ev.reference] if ev.reference else list(ctx.notes)
    for note in notes:
        if ev.start is not None and ev.end is not None:
            original = note.text[ev.start : ev.end]
            if original == ev.quote:
                return ev.model_copy(update={"reference": note.reference})
            if fold_for_matching(original) == fold_for_matching(ev.quote):  # matched on the folded text
                return ev.model_copy(update={"reference": note.reference, "quote": original})
        span = find_verbatim(note.text, ev.quote, hint=ev.start)
        if span is not None:
            start, end = span
            return Evidence(reference=note.reference, quote=note.text[start:end], start=start, end=end)
    return None


def enforce_evidence(verdict: FactVerdict, ctx: VerificationContext) -> FactVerdict:
    """Drop quotes not found in the notes (counted); a known verdict left without evidence becomes unknown."""
    kept: list[Evidence] = []
    for ev in verdict.evidence:
        if ev.quote is None:
            if ev.reference:
                kept.append(ev)
            continue
        ctx.stats.quotes_checked += 1
        located = _locate(ev, ctx)
        if located is None:
            ctx.stats.quotes_discarded += 1
        else:
            kept.append(located)
    if verdict.known and not kept:
        ctx.stats.verdicts_voided += 1
        return FactVerdict(
            fact_id=verdict.fact_id,
            method=verdict.method,
            detail=f"voided: {verdict.method} verdict without verifiable evidence",
        )
    return verdict.model_copy(update={"evidence": kept})
