"""May an encounter belong to an indicator's denominator? (ICD-10 prefixes of its Conditions, or terms.)"""

from __future__ import annotations

from functools import lru_cache

from agents.lexical.document import Document, analyse
from agents.lexical.lexicon import LexiconEntry
from agents.lexical.mentions import compile_terms, find_mentions
from agents.lexical.normalize import fold_for_matching
from fhir_ops.data_access.record import EncounterRecord
from measures.catalog.schema import IndicatorSpec

ICD10_SYSTEMS = ("icd-10", "icd10")
SNOMED = "http://snomed.info/sct"


def condition_codes(record: EncounterRecord) -> list[str]:
    """ICD-10 codes of the record's Conditions (any system whose url mentions ICD-10)."""
    return [
        str(coding.get("code") or "")
        for cond in record.conditions
        for coding in (cond.get("code") or {}).get("coding") or []
        if any(s in str(coding.get("system") or "").lower() for s in ICD10_SYSTEMS)
    ]


def snomed_codes(record: EncounterRecord) -> set[str]:
    return {
        str(coding.get("code") or "")
        for cond in record.conditions
        for coding in (cond.get("code") or {}).get("coding") or []
        if coding.get("system") == SNOMED
    }


def may_belong(spec: IndicatorSpec, record: EncounterRecord) -> bool:
    """True when a Condition is coded with one of the ICD-10 prefixes or SNOMED codes, or a note names
    the disease (affirmed: not denied, not suspected)."""
    return bool(applicable([spec], record))


def applicable(specs: list[IndicatorSpec], record: EncounterRecord) -> list[IndicatorSpec]:
    """The indicators whose denominator the encounter may belong to (codes read once, each distinct set of
    diagnosis terms searched once)."""
    codes = [c.upper() for c in condition_codes(record)]
    snomed = snomed_codes(record)
    coded = [fold_for_matching(str((c.get("code") or {}).get("text") or "")) for c in record.conditions]
    notes = [fold_for_matching(n.text) for n in record.notes]
    by_terms: dict[tuple[str, ...], bool] = {}
    out = []
    for spec in specs:
        crit = spec.denominator
        if any(code.startswith(p.upper()) for code in codes for p in crit.icd10) or snomed & set(crit.snomed):
            out.append(spec)
            continue
        terms = tuple(crit.terms)
        if terms and terms not in by_terms:
            by_terms[terms] = _named(terms, coded, notes)
        if terms and by_terms[terms]:
            out.append(spec)
    return out


def split_by_diseases(
    placed: list[IndicatorSpec], record: EncounterRecord, diseases: int
) -> tuple[list[IndicatorSpec], list[IndicatorSpec]]:
    """``placed`` split into the indicators judged now and those deferred: every indicator of the first
    ``diseases`` diseases — those the record's coded diagnoses place first, then those only its notes
    name, in catalog order — now, the rest later. ``diseases`` 0 judges every one now."""
    if diseases <= 0:
        return list(placed), []
    codes = [c.upper() for c in condition_codes(record)]
    snomed = snomed_codes(record)

    def coded(spec: IndicatorSpec) -> bool:
        crit = spec.denominator
        return any(code.startswith(p.upper()) for code in codes for p in crit.icd10) or bool(
            snomed & set(crit.snomed)
        )

    order = list(dict.fromkeys([s.disease for s in placed if coded(s)] + [s.disease for s in placed]))
    now = set(order[:diseases])
    return [s for s in placed if s.disease in now], [s for s in placed if s.disease not in now]


def _named(terms: tuple[str, ...], coded: list[str], notes: list[str]) -> bool:
    pattern = compile_terms(terms)
    if pattern is None:
        return False
    if any(pattern.search(t) for t in coded):
        return True
    entry = _diagnosis_entry(terms)
    return any(
        m.polarity == "affirmed"
        for text in notes
        if pattern.search(text)
        for m in find_mentions(entry, _document(text))
    )


@lru_cache(maxsize=64)
def _document(folded_text: str) -> Document:
    return analyse(folded_text)


@lru_cache(maxsize=512)
def _diagnosis_entry(terms: tuple[str, ...]) -> LexiconEntry:
    """The diagnosis terms as a lexicon entry, so a denied or suspected diagnosis (否认糖尿病, 待排) does not
    place the encounter in the denominator."""
    return LexiconEntry(terms=list(terms))
