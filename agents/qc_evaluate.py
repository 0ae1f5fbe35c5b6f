"""``$qc-evaluate``: verify an encounter's facts, state them as Observations, judge with the indicator CQL.

The steps: the indicators whose denominator the encounter may belong to → each indicator's facts
verified (coded data, then the notes) → one fact Observation per fact (and one for the denominator
placement) → the indicators' CQL evaluated over the record and those Observations → one individual
MeasureReport per indicator. The judging step is a seam (:class:`Judge`): production uses the CQL
(:class:`CqlJudge`); :class:`RuleOracle` applies the spec rules in Python, for ``medqc eval`` and as the
oracle of the differential test.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from fhir.resources.R4B.bundle import Bundle

from agents.denominator import applicable
from agents.fact_observations import clinical_record, indicator_observations
from agents.lexical.limits import check_note_sizes
from agents.qc_report import measure_report
from agents.verifiers.base import FactVerdict
from agents.verifiers.context import EvidenceStats, VerificationContext
from fhir_ops.data_access.record import EncounterRecord
from fhir_ops.errors import ServiceUnavailable
from fhir_ops.store.protocol import ResourceRepository
from measures.catalog import indicator_specs
from measures.catalog.cql import CS_FACT, reviewer_code
from measures.catalog.evaluation import CatalogEngine, disease_of
from measures.catalog.outcome import Outcome, judge_by_rule
from measures.catalog.schema import FactSpec, IndicatorSpec

#: Placeholder ids for a record that arrives without a Patient or an Encounter id (system level).
ANONYMOUS_PATIENT = "qc-patient"
ANONYMOUS_ENCOUNTER = "qc-encounter"

logger = logging.getLogger(__name__)

#: Bound on the reviewer-verdict Observations read per judged indicator (the workstation keeps one).
REVIEWS_PER_INDICATOR = 4


class Policy(Protocol):
    """What qc_evaluate needs of a verification policy (see agents.verifiers.policy)."""

    async def verify_all(self, facts: list[FactSpec], ctx: VerificationContext) -> dict[str, FactVerdict]: ...


@dataclass(slots=True)
class VerifiedIndicator:
    """One indicator's verified facts for the encounter, as verdicts and as fact Observations."""

    spec: IndicatorSpec
    placement: FactVerdict
    verdicts: dict[str, FactVerdict]
    observations: list[dict[str, Any]]
    stats: EvidenceStats
    asserted: bool = False


class Judge(Protocol):
    """Places the encounter in each indicator's populations from its verified facts."""

    async def judge(self, record: EncounterRecord, verified: list[VerifiedIndicator]) -> list[Outcome]: ...


class RuleOracle:
    """The spec rules evaluated in Python (three-valued): the reference the CQL is tested against."""

    async def judge(self, record: EncounterRecord, verified: list[VerifiedIndicator]) -> list[Outcome]:
        return [
            judge_by_rule(
                v.spec,
                {k: f.value for k, f in v.verdicts.items()},
                placed=v.placement.value is True,
                asserted=v.asserted,
            )
            for v in verified
        ]


def stay_bounds(encounter: dict[str, Any]) -> tuple[str, str]:
    """The measurement period of a single-encounter judgement: the stay's days, widened by a day on each
    side so that a date-only or time-zoned period end is certainly inside (the bundle holds no other
    encounter)."""
    period = encounter.get("period") or {}
    start = date.fromisoformat(str(period.get("start") or period.get("end"))[:10]) - timedelta(days=1)
    end = date.fromisoformat(str(period.get("end") or period.get("start"))[:10]) + timedelta(days=1)
    return f"{start.isoformat()}T00:00:00.000Z", f"{end.isoformat()}T23:59:59.999Z"


def engine_bundle(record: EncounterRecord, observations: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The patient Bundle the CQL runs over for one named encounter: the record's coded resources and
    the fact Observations; a record without a Patient, an encounter id or a stay period gets placeholders
    (never stored)."""
    encounter = dict(record.encounter or {"resourceType": "Encounter", "status": "finished"})
    encounter.setdefault("id", ANONYMOUS_ENCOUNTER)
    # The caller named this encounter to be judged as a stay: its class selects encounters only for a
    # period's rate (inpatient discharges), not here.
    encounter.pop("class", None)
    if not (encounter.get("period") or {}).get("start") and not (encounter.get("period") or {}).get("end"):
        today = datetime.now(UTC).date().isoformat()
        encounter["period"] = {"start": today, "end": today}
    patient = record.patient or {"resourceType": "Patient", "id": ANONYMOUS_PATIENT}
    # the coded data the CQL retrieves; never the notes (the facts read from them are the Observations)
    others = [
        *record.conditions,
        *record.procedures,
        *record.observations,
        *record.medication_requests,
        *record.medication_administrations,
        *record.diagnostic_reports,
    ]
    resources = [patient, encounter, *others, *observations]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{r['resourceType']}/{r.get('id')}", "resource": r} for r in resources],
    }
    return bundle, str(encounter["id"])


def _distinct(observations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One Observation per fact: a disease-level fact shared by several indicators is stated once."""
    return list({str(o["id"]): o for o in observations}.values())


class CqlJudge:
    """The indicators' CQL on the engine: one run per disease involved, diseases in parallel."""

    def __init__(self, engine: CatalogEngine, reviews: ResourceRepository | None = None) -> None:
        self.engine = engine
        #: MedQC's own store, where the workstation keeps reviewers' verdicts (None: not read)
        self.reviews = reviews

    async def judge(self, record: EncounterRecord, verified: list[VerifiedIndicator]) -> list[Outcome]:
        by_disease: dict[str, list[VerifiedIndicator]] = {}
        for v in verified:
            by_disease.setdefault(v.spec.disease, []).append(v)
        reviewed = await self._reviewer_verdicts(record, [v.spec for v in verified])

        async def run(part: list[VerifiedIndicator]) -> dict[str, Outcome]:
            # each disease's run gets only its own facts: the engine reads less, the answer is the same
            codes = {reviewer_code(v.spec) for v in part}
            observations = _distinct(
                [o for v in part for o in v.observations] + [o for o in reviewed if _fact_code(o) in codes]
            )
            bundle, encounter_id = engine_bundle(record, observations)
            start, end = stay_bounds(bundle["entry"][1]["resource"])
            (result,) = await self.engine.outcomes(
                disease_of(part[0].spec),
                [(bundle, [encounter_id])],
                period_start=start,
                period_end=end,
                indicators=[v.spec for v in part],
            )
            return {ind: outcome for (ind, _), outcome in result.items()}

        merged: dict[str, Outcome] = {}
        for part in await asyncio.gather(*(run(p) for p in by_disease.values())):
            merged.update(part)
        deciding = {_fact_code(o): f"Observation/{o['id']}" for o in reviewed}
        return [replace(merged[v.spec.id], reviewed=deciding.get(reviewer_code(v.spec))) for v in verified]

    async def _reviewer_verdicts(
        self, record: EncounterRecord, specs: list[IndicatorSpec]
    ) -> list[dict[str, Any]]:
        """The reviewers' standing verdicts on this stay for ``specs``, read from MedQC's store (a CDS
        prefetch does not carry them): one search, at most a few per indicator. A withdrawn verdict
        (deleted, or not ``final``) is not returned. With the store down the stay is judged on its
        record alone (a hook still answers); later ratings read the verdicts again."""
        encounter_id = (record.encounter or {}).get("id")
        if self.reviews is None or not encounter_id or not specs:
            return []
        codes = sorted({reviewer_code(s) for s in specs})
        try:
            found = await self.reviews.search(
                "Observation",
                [
                    ("encounter", f"Encounter/{encounter_id}"),
                    ("code", ",".join(f"{CS_FACT}|{c}" for c in codes)),
                    ("status", "final"),
                    ("_count", str(REVIEWS_PER_INDICATOR * len(codes))),
                    ("_total", "none"),
                ],
            )
        except ServiceUnavailable:
            logger.warning("reviewers' verdicts unreadable (store unavailable): judged on the record alone")
            return []
        return found.matches


def _fact_code(observation: dict[str, Any]) -> str | None:
    return next(
        (
            str(c.get("code"))
            for c in (observation.get("code") or {}).get("coding") or []
            if c.get("system") == CS_FACT
        ),
        None,
    )


async def verify_indicator(
    spec: IndicatorSpec,
    ctx: VerificationContext,
    policy: Policy,
    *,
    placed: bool,
    asserted: bool,
    digest: str | None,
) -> VerifiedIndicator:
    before = replace(ctx.stats)
    verdicts = await policy.verify_all(spec.all_facts, ctx.for_indicator(spec)) if placed else {}
    placement = FactVerdict(
        fact_id="diagnosis",
        value=placed,
        method="none" if asserted else "lexical",
        confidence=1.0,
        detail="asserted by the caller" if asserted else "diagnosis codes or diagnosis named in the notes",
    )
    stats = EvidenceStats(
        quotes_checked=ctx.stats.quotes_checked - before.quotes_checked,
        quotes_discarded=ctx.stats.quotes_discarded - before.quotes_discarded,
        verdicts_voided=ctx.stats.verdicts_voided - before.verdicts_voided,
    )
    observations = indicator_observations(
        spec, verdicts, placement, ctx.record, digest=digest, asserted=asserted
    )
    return VerifiedIndicator(spec, placement, verdicts, observations, stats, asserted)


async def verify_record(
    record: EncounterRecord,
    measures: list[IndicatorSpec] | None,
    *,
    policy: Policy,
    denominator_asserted: bool,
    digest: str | None,
    max_note_bytes: int | None = None,
) -> list[VerifiedIndicator]:
    """Verify the facts of ``measures`` (None: every indicator whose denominator the encounter may belong
    to) for the record, sharing one verification context (facts shared by indicators run once).

    A note larger than ``max_note_bytes`` is refused (:class:`NoteTooLarge`, a 400) before any work."""
    record = clinical_record(record)
    if max_note_bytes is not None:
        check_note_sizes(record.notes, max_note_bytes)
    if measures is not None and denominator_asserted:
        placed: set[str] = set()  # the caller placed the encounter: no need to look for the diagnosis
    else:
        placed = {s.id for s in applicable(measures or indicator_specs(), record)}
    specs = measures if measures is not None else [s for s in indicator_specs() if s.id in placed]
    ctx = VerificationContext(record=record)
    return [
        await verify_indicator(
            spec,
            ctx,
            policy,
            placed=denominator_asserted or spec.id in placed,
            asserted=denominator_asserted,
            digest=digest,
        )
        for spec in specs
    ]


@dataclass(slots=True)
class QcResult:
    """What a judgement produced: the report Bundle and the fact Observations behind it."""

    bundle: dict[str, Any]
    observations: list[dict[str, Any]]


async def qc_judge(
    record: EncounterRecord,
    *,
    measures: list[IndicatorSpec] | None,
    denominator_asserted: bool,
    policy: Policy,
    judge: Judge,
    digest: str | None = None,
    validate: bool = True,
    max_note_bytes: int | None = None,
) -> QcResult:
    """Judge ``record`` against ``measures`` (None: every indicator whose denominator the encounter may
    belong to). With ``denominator_asserted`` the caller has placed the encounter in each denominator and
    only the numerator is judged. Reports are validated with ``fhir.resources.R4B`` when ``validate``."""
    verified = await verify_record(
        record,
        measures,
        policy=policy,
        denominator_asserted=denominator_asserted,
        digest=digest,
        max_note_bytes=max_note_bytes,
    )
    outcomes = await judge.judge(clinical_record(record), verified)
    bundle = report_bundle(
        record, verified, outcomes, denominator_asserted=denominator_asserted, validate=validate
    )
    return QcResult(bundle, _distinct([o for v in verified for o in v.observations]))


def report_bundle(
    record: EncounterRecord,
    verified: list[VerifiedIndicator],
    outcomes: list[Outcome],
    *,
    denominator_asserted: bool,
    validate: bool,
) -> dict[str, Any]:
    """The Bundle (collection) of individual MeasureReports: each indicator's outcome with its fact
    Observations (the denominator placement contained, not listed as a fact). Validated with
    ``fhir.resources.R4B`` when ``validate``."""
    entries = []
    for v, outcome in zip(verified, outcomes, strict=True):
        report = measure_report(
            v.spec,
            record,
            v.observations[1:],
            outcome,
            placement=v.observations[0],
            denominator_asserted=denominator_asserted,
            stats=v.stats,
        )
        entries.append({"fullUrl": f"urn:uuid:{report['id']}", "resource": report})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    if validate:
        Bundle.model_validate(bundle)
    return bundle


async def qc_evaluate(
    record: EncounterRecord,
    *,
    measures: list[IndicatorSpec] | None,
    denominator_asserted: bool,
    policy: Policy,
    judge: Judge,
    validate: bool = True,
) -> dict[str, Any]:
    """A Bundle (collection) of individual MeasureReports, one per measure (see :func:`qc_judge`)."""
    result = await qc_judge(
        record,
        measures=measures,
        denominator_asserted=denominator_asserted,
        policy=policy,
        judge=judge,
        validate=validate,
    )
    return result.bundle
