"""From ``$qc-evaluate``'s Bundle of individual MeasureReports to :class:`IndicatorFinding` s.

The MeasureReport profile is ``conformance/qc-measurereport-profile.md`` (agents/qc_report.py): group
extensions ``qc-fact`` (→ contained Observation per fact) and ``qc-needs-review``; populations
initial-population / denominator / numerator; each fact Observation carries its value (or
dataAbsentReason) and ``qc-evidence`` extensions (``source`` reference, ``quote``).

Wire it in the app with, e.g.::

    app.state.cds_evaluator = QcEvaluator(
        evaluate=lambda record: qc_evaluate(record, measures=None, denominator_asserted=False, policy=policy),
        indicator=lambda canonical: meta_by_canonical.get(canonical),
    )
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cds_services.findings import EvidenceItem, FactFinding, FactValue, IndicatorFinding, IndicatorVerdict
from fhir_ops.data_access.record import EncounterRecord

Resource = dict[str, Any]


@dataclass(frozen=True, slots=True)
class IndicatorMeta:
    """What a card shows of an indicator besides the verdict (from the catalog Measure)."""

    key: str
    title: str
    core: bool = False
    definition: str | None = None
    definition_url: str | None = None


def _ext(element: Resource, suffix: str) -> list[Resource]:
    return [e for e in element.get("extension") or [] if str(e.get("url", "")).endswith(suffix)]


def _population(group: Resource, code: str) -> int:
    for pop in group.get("population") or []:
        codes = {c.get("code") for c in (pop.get("code") or {}).get("coding") or []}
        if code in codes:
            return int(pop.get("count") or 0)
    return 0


def _fact_value(obs: Resource) -> FactValue:
    if "valueBoolean" in obs:
        return bool(obs["valueBoolean"])
    if "valueQuantity" in obs:
        value = (obs["valueQuantity"] or {}).get("value")
        return float(value) if isinstance(value, int | float) else None
    for key in ("valueString", "valueDateTime", "valueCode"):
        if key in obs:
            return str(obs[key])
    return None


def _evidence(obs: Resource) -> tuple[EvidenceItem, ...]:
    items = []
    for ext in _ext(obs, "/qc-evidence"):
        parts = {p.get("url"): p for p in ext.get("extension") or []}
        source = (parts.get("source") or {}).get("valueReference") or {}
        quote = (parts.get("quote") or {}).get("valueString")
        reference = source.get("reference")
        if reference or quote:
            items.append(EvidenceItem(reference=reference, quote=quote))
    return tuple(items)


def _fact(obs: Resource) -> FactFinding:
    code = obs.get("code") or {}
    coding = (code.get("coding") or [{}])[0]
    method = ((obs.get("method") or {}).get("coding") or [{}])[0].get("code")
    return FactFinding(
        fact_id=str(coding.get("code") or obs.get("id") or ""),
        question=str(code.get("text") or coding.get("display") or coding.get("code") or "fact"),
        value=_fact_value(obs),
        evidence=_evidence(obs),
        method=method,
    )


def finding_from_report(report: Resource, meta: IndicatorMeta) -> IndicatorFinding | None:
    """The finding of one individual MeasureReport; None when the encounter is not in the denominator."""
    if report.get("status") == "pending":  # judged in the background, after the hook answered
        return IndicatorFinding(
            key=meta.key,
            title=meta.title,
            verdict="pending",
            definition_url=meta.definition_url,
            definition=meta.definition,
            core=meta.core,
            facts=(),
        )
    groups = report.get("group") or []
    if not groups:
        return None
    group = groups[0]
    if _population(group, "denominator") == 0:
        return None
    needs_review = any(e.get("valueBoolean") is True for e in _ext(group, "/qc-needs-review"))
    verdict: IndicatorVerdict = (
        "needs-review" if needs_review else "met" if _population(group, "numerator") > 0 else "not-met"
    )
    contained = {f"#{r.get('id')}": r for r in report.get("contained") or []}
    facts = tuple(
        _fact(contained[ref])
        for ext in _ext(group, "/qc-fact")
        if (ref := (ext.get("valueReference") or {}).get("reference")) in contained
    )
    return IndicatorFinding(
        key=meta.key,
        title=meta.title,
        verdict=verdict,
        definition_url=meta.definition_url,
        definition=meta.definition,
        core=meta.core,
        facts=facts,
    )


def findings_from_qc_bundle(
    bundle: Resource, indicator: Callable[[str], IndicatorMeta | None]
) -> list[IndicatorFinding]:
    """Findings of every MeasureReport whose measure ``indicator`` knows (canonical, without version)."""
    out: list[IndicatorFinding] = []
    for entry in bundle.get("entry") or []:
        report = entry.get("resource") or {}
        if report.get("resourceType") != "MeasureReport":
            continue
        meta = indicator(str(report.get("measure", "")).split("|", 1)[0])
        if meta is None:
            continue
        finding = finding_from_report(report, meta)
        if finding is not None:
            out.append(finding)
    return out


class QcEvaluator:
    """An :class:`cds_services.findings.Evaluator` over a ``qc_evaluate``-style function."""

    def __init__(
        self,
        *,
        evaluate: Callable[[EncounterRecord], Awaitable[Resource]],
        indicator: Callable[[str], IndicatorMeta | None],
    ) -> None:
        self._evaluate = evaluate
        self._indicator = indicator

    async def __call__(self, record: EncounterRecord) -> list[IndicatorFinding]:
        return findings_from_qc_bundle(await self._evaluate(record), self._indicator)
