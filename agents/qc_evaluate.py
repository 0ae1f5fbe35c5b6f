"""``$qc-evaluate``: judge an encounter against catalog indicators (facts → rules) as MeasureReports."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from fhir.resources.R4B.bundle import Bundle

from agents.denominator import applicable, may_belong
from agents.qc_report import Outcome, measure_report
from agents.verifiers.base import FactVerdict
from agents.verifiers.context import EvidenceStats, VerificationContext
from fhir_ops.data_access.record import EncounterRecord
from measures.catalog import indicator_specs
from measures.catalog import rules as rule_lang
from measures.catalog.schema import FactSpec, IndicatorSpec


class Policy(Protocol):
    """What qc_evaluate needs of a verification policy (see agents.verifiers.policy)."""

    async def verify_all(self, facts: list[FactSpec], ctx: VerificationContext) -> dict[str, FactVerdict]: ...


def judge(
    spec: IndicatorSpec, verdicts: dict[str, FactVerdict], *, denominator_asserted: bool, may: bool
) -> Outcome:
    """Populations from the fact verdicts; unknown numerators count per ``spec.on_unknown``."""
    values = {k: v.value for k, v in verdicts.items()}
    review = False
    if denominator_asserted:
        ip, denominator = 1, 1
    else:
        ip = int(may)
        denominator = ip
        if ip and spec.denominator.rule:
            den = rule_lang.evaluate(rule_lang.parse(spec.denominator.rule), values)
            review = den.value is None or den.assumed
            denominator = int(den.value is not False)
    num = rule_lang.evaluate(rule_lang.parse(spec.rule), values)
    review = bool(denominator) and (review or num.value is None or num.assumed)
    met = num.value if num.value is not None else spec.on_unknown
    return Outcome(ip, denominator, int(bool(denominator) and met), num.value, review)


async def evaluate_one(
    spec: IndicatorSpec, ctx: VerificationContext, policy: Policy, *, denominator_asserted: bool
) -> tuple[dict[str, Any], Outcome, dict[str, FactVerdict]]:
    may = denominator_asserted or may_belong(spec, ctx.record)
    before = replace(ctx.stats)
    verdicts = await policy.verify_all(spec.all_facts, ctx.for_indicator(spec)) if may else {}
    outcome = judge(spec, verdicts, denominator_asserted=denominator_asserted, may=may)
    stats = EvidenceStats(
        quotes_checked=ctx.stats.quotes_checked - before.quotes_checked,
        quotes_discarded=ctx.stats.quotes_discarded - before.quotes_discarded,
        verdicts_voided=ctx.stats.verdicts_voided - before.verdicts_voided,
    )
    report = measure_report(
        spec, ctx.record, verdicts, outcome, denominator_asserted=denominator_asserted, stats=stats
    )
    return report, outcome, verdicts


async def qc_evaluate(
    record: EncounterRecord,
    *,
    measures: list[IndicatorSpec] | None,
    denominator_asserted: bool,
    policy: Policy,
    validate: bool = True,
) -> dict[str, Any]:
    """A Bundle (collection) of individual MeasureReports, one per measure.

    ``measures`` None means every catalog indicator whose denominator the encounter may belong to.
    With ``denominator_asserted`` the caller has placed the encounter in each denominator and only the
    numerator is judged. Reports are validated with ``fhir.resources.R4B`` when ``validate``.
    """
    specs = measures if measures is not None else applicable(indicator_specs(), record)
    ctx = VerificationContext(record=record)
    entries = []
    for spec in specs:
        report, _, _ = await evaluate_one(spec, ctx, policy, denominator_asserted=denominator_asserted)
        entries.append({"fullUrl": f"urn:uuid:{report['id']}", "resource": report})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    if validate:
        Bundle.model_validate(bundle)
    return bundle
