"""The implementations the graph's steps name (``Step.does``): JSON in, JSON out.

A step reads the run's recorded inputs and the outputs of the steps it needs, and returns a JSON value:
what it returns is what the audit records and what replay compares, so a step's output is complete
(the next step needs nothing else) and carries no object that JSON cannot hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from agents.denominator import applicable, split_by_diseases
from agents.discharge import EXT_POLICY, EXT_RECORD_HASH, record_hash, report_id, store_reports
from agents.fact_observations import clinical_record
from agents.lexical.limits import check_note_sizes
from agents.note_budget import read_view
from agents.orchestration.audit import Json
from agents.population import judge_period
from agents.qc_evaluate import Judge, Policy, VerifiedIndicator, report_bundle, verify_record
from agents.qc_report import pending_report
from agents.verifiers.base import FactVerdict
from agents.verifiers.context import EvidenceStats
from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from fhir_ops.data_access.searching import SearchingSource
from fhir_ops.errors import FhirError
from fhir_ops.store.protocol import ResourceRepository
from measures.catalog import indicator_specs
from measures.catalog.outcome import Outcome
from measures.catalog.schema import IndicatorSpec

#: the run step (``<run id>/<step>``) that last wrote a stored report, and the knowledge-base version used
EXT_RUN = "http://medqc.org/fhir/StructureDefinition/qc-run"
EXT_KB = "http://medqc.org/fhir/StructureDefinition/qc-kb-version"


class StepServices(Protocol):
    """What the steps use of a MedQC process (medqc.services.Services provides it)."""

    @property
    def repo(self) -> ResourceRepository: ...
    @property
    def data_source(self) -> SearchingSource: ...
    @property
    def judge(self) -> Judge: ...
    @property
    def fast_policy(self) -> Policy: ...
    @property
    def full_policy(self) -> Policy | None: ...


@dataclass(slots=True)
class StepResult:
    output: Json
    model: str | None = None
    prompt_version: str | None = None


@dataclass(slots=True)
class StepEnv:
    """One step's view of its run: the services, the run's inputs, the outputs it needs, its arguments."""

    services: StepServices
    run_id: str
    step: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Json]
    args: Mapping[str, str]
    kb_version: str
    heartbeat: Callable[[], None] = lambda: None
    max_note_bytes: int | None = None
    _record: EncounterRecord | None = field(default=None)

    def record(self) -> EncounterRecord:
        """The encounter record of the run (rebuilt once from the recorded resources, which were checked
        when the run's record was first assembled)."""
        if self._record is None:
            self._record = record_from_resources(
                list(self.inputs["resources"]), self.inputs.get("encounter"), validate=False
            )
        return self._record

    def policy(self) -> tuple[Policy, str]:
        wanted = self.args.get("policy", "configured")
        full = self.services.full_policy
        if wanted == "full" or (wanted == "configured" and full is not None):
            if full is None:
                raise RuntimeError("this run needs the language model, and none is configured")
            return full, "full"
        return self.services.fast_policy, "fast"


StepFn = Callable[[StepEnv], Awaitable[StepResult]]


def record_inputs(record: EncounterRecord, **more: Json) -> dict[str, Json]:
    """The recorded inputs of an encounter run: the record's resources and the run's parameters."""
    return {"resources": record.resources(), "encounter": (record.encounter or {}).get("id"), **more}


@cache
def _specs() -> dict[str, IndicatorSpec]:
    return {s.id: s for s in indicator_specs()}


# ---- codecs of the judgement's intermediate values ----------------------------------------------------
def verified_json(v: VerifiedIndicator) -> dict[str, Json]:
    return {
        "indicator": v.spec.id,
        "placement": v.placement.model_dump(mode="json"),
        "verdicts": {k: f.model_dump(mode="json") for k, f in v.verdicts.items()},
        "observations": v.observations,
        "stats": asdict(v.stats),
    }


def verified_of(data: Mapping[str, Any]) -> VerifiedIndicator:
    return VerifiedIndicator(
        spec=_specs()[data["indicator"]],
        placement=FactVerdict.model_validate(data["placement"]),
        verdicts={k: FactVerdict.model_validate(f) for k, f in data["verdicts"].items()},
        observations=list(data["observations"]),
        stats=EvidenceStats(**data["stats"]),
    )


def _ext(resource: Mapping[str, Any], url: str) -> Any:
    return next(
        (
            e.get("valueString") or e.get("valueCode")
            for e in resource.get("extension") or []
            if e.get("url") == url
        ),
        None,
    )


# ---- the steps ------------------------------------------------------------------------------------
async def context(env: StepEnv) -> StepResult:
    record = env.record()
    if env.max_note_bytes is not None:  # a note too large is a 400 before any work
        check_note_sizes(record.notes, env.max_note_bytes)
    # the hook reads the latest notes up to its budget, judges the indicators of its first diseases now
    # and defers the rest (both budgets are the run's inputs: replayable)
    view, partial = _read_view(env)
    measures = env.inputs.get("measures")
    if measures is None:
        placed = applicable(indicator_specs(), clinical_record(view))
    else:
        placed = [_specs()[m] for m in measures]
    now, later = split_by_diseases(placed, view, int(env.inputs.get("inline_diseases") or 0))
    return StepResult(
        {
            "digest": record_hash(record),
            "encounter": (record.encounter or {}).get("id"),
            "resources": len(record.resources()),
            "notes": len(record.notes),
            "notes_read": len(view.notes),
            "partial": partial,
            "indicators": [s.id for s in now],
            "deferred": [s.id for s in later],
        }
    )


def _read_view(env: StepEnv) -> tuple[EncounterRecord, bool]:
    """The record as the hook reads it on its note budget (the whole record without one)."""
    return read_view(env.record(), int(env.inputs.get("inline_note_chars") or 0))


async def verify_facts(env: StepEnv) -> StepResult:
    policy, _ = env.policy()
    measures = env.inputs.get("measures")
    scope = env.args.get("scope")
    record = env.record()
    if scope is not None:  # the indicators the context step chose: judged now, or deferred
        context = env.outputs["context"]
        if scope == "now":
            measures = context["indicators"]
            record = _read_view(env)[0]
        elif not context.get("partial"):
            measures = context["deferred"]
        # else: the hook read only some notes: the background judges every indicator on all of them
    verified = await verify_record(
        record,
        [_specs()[m] for m in measures] if measures is not None else None,
        policy=policy,
        denominator_asserted=bool(env.inputs.get("asserted", False)),
        digest=env.outputs["context"]["digest"],
        max_note_bytes=env.max_note_bytes,
    )
    produced = [
        f.provenance for v in verified for f in v.verdicts.values() if f.method == "llm" and f.provenance
    ]
    models = sorted({p.get("model", "") for p in produced} - {""})
    prompts = sorted({p.get("prompt", "") for p in produced} - {""})
    return StepResult(
        [verified_json(v) for v in verified],
        model=", ".join(models) or None,
        prompt_version=", ".join(prompts) or None,
    )


def _needed(env: StepEnv, suffix: str) -> Json:
    """The output of the needed step named ``suffix`` (``facts`` is ``facts`` or ``refine-facts``)."""
    (found,) = [env.outputs[n] for n in env.outputs if n == suffix or n.endswith(f"-{suffix}")]
    return found


def _facts_of(env: StepEnv) -> list[VerifiedIndicator]:
    return [verified_of(v) for v in _needed(env, "facts")]


async def judge(env: StepEnv) -> StepResult:
    verified = _facts_of(env)
    outcomes = await env.services.judge.judge(clinical_record(env.record()), verified)
    return StepResult(
        [{"indicator": v.spec.id, **asdict(o)} for v, o in zip(verified, outcomes, strict=True)]
    )


async def report(env: StepEnv) -> StepResult:
    verified = _facts_of(env)
    outcomes = [Outcome(**{k: o[k] for k in o if k != "indicator"}) for o in _needed(env, "rules")]
    record = env.record()
    deferred: list[str] = []
    if env.args.get("pending") == "yes":  # the hook's answer: what it could not settle is pending
        deferred = list(env.outputs["context"].get("deferred") or [])
        if env.outputs["context"].get("partial"):  # unread notes could still change a failing result
            judged = list(zip(verified, outcomes, strict=True))
            deferred = [v.spec.id for v, o in judged if not _settled(o)] + deferred
            verified = [v for v, o in judged if _settled(o)]
            outcomes = [o for o in outcomes if _settled(o)]
    bundle = report_bundle(
        record,
        verified,
        outcomes,
        denominator_asserted=bool(env.inputs.get("asserted", False)),
        validate=env.args.get("validate") == "yes",
    )
    if deferred:
        bundle["entry"] += [
            {"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
            for r in (pending_report(_specs()[m], record) for m in deferred)
        ]
    return StepResult(bundle)


def _settled(outcome: Outcome) -> bool:
    """Met, or outside the denominator: more notes would not turn it into a failure card."""
    return not outcome.needs_review and (outcome.denominator == 0 or outcome.numerator == 1)


async def _stored_report(repo: ResourceRepository, rid: str) -> dict[str, Any] | None:
    try:
        return await repo.read("MeasureReport", rid)
    except FhirError:
        return None


async def prefer_refined(env: StepEnv) -> StepResult:
    """Swap in a stored report of this very record: for a pending indicator, any (the background
    judged it after an earlier call); for a judged one, a model-refined (full-policy) one."""
    bundle = env.outputs["reports"]
    encounter_id = str(env.inputs["encounter"])
    digest = env.outputs["context"]["digest"]
    refined = env.services.full_policy is not None
    entries = []
    for entry in bundle.get("entry") or []:
        pending = entry["resource"].get("status") == "pending"
        stored = (
            await _stored_report(env.services.repo, report_id(encounter_id, entry["resource"]))
            if pending or refined
            else None
        )
        if (
            stored
            and _ext(stored, EXT_RECORD_HASH) == digest
            and (pending or _ext(stored, EXT_POLICY) == "full")
        ):
            entries.append({**entry, "resource": stored})
        else:
            entries.append(entry)
    return StepResult({**bundle, "entry": entries})


async def store(env: StepEnv) -> StepResult:
    """Keep the Observations and reports of each indicator, unless the store already has this judgement
    (this run's, or the same record judged with the same policy and knowledge base), or a refined one of
    the same record that a fast judgement must not replace. Idempotent: a retry writes nothing twice."""
    _, policy = env.policy()
    if env.args.get("partial") == "skip" and env.outputs["context"].get("partial"):
        # judged on part of the notes: the background's judgement on all of them is the one kept
        return StepResult({"written": [], "observations": 0, "skipped": 0, "policy": policy})
    encounter_id = str(env.inputs["encounter"])
    digest = env.outputs["context"]["digest"]
    facts = _needed(env, "facts")
    bundle = _needed(env, "reports")
    overwrite = env.args.get("overwrite") == "yes"
    key = f"{env.run_id}/{env.step}"
    kept_entries: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    skipped = 0
    judged = [e for e in bundle.get("entry") or [] if e["resource"].get("status") != "pending"]
    for v, entry in zip(facts, judged, strict=True):
        stored = await _stored_report(env.services.repo, report_id(encounter_id, entry["resource"]))
        if stored is not None:
            same = _ext(stored, EXT_RECORD_HASH) == digest
            if _ext(stored, EXT_RUN) == key or (
                not overwrite
                and same
                and (
                    _ext(stored, EXT_POLICY) == "full"
                    or (_ext(stored, EXT_POLICY) == policy and _ext(stored, EXT_KB) == env.kb_version)
                )
            ):
                skipped += 1
                continue
        resource = dict(entry["resource"])
        resource["extension"] = [
            *(e for e in resource.get("extension") or [] if e.get("url") not in {EXT_RUN, EXT_KB}),
            {"url": EXT_RUN, "valueString": key},
            {"url": EXT_KB, "valueString": env.kb_version},
        ]
        kept_entries.append({**entry, "resource": resource})
        observations += v["observations"]
    # a disease-level fact shared by several indicators is one Observation, stored once
    observations = list({str(o["id"]): o for o in observations}.values())
    if kept_entries:
        await store_reports(
            env.services.repo,
            encounter_id,
            {**bundle, "entry": kept_entries},
            digest=digest,
            policy=policy,
            observations=observations,
        )
    return StepResult(
        {
            "written": sorted(report_id(encounter_id, e["resource"]) for e in kept_entries),
            "observations": len(observations),
            "skipped": skipped,
            "policy": policy,
        }
    )


async def judge_period_step(env: StepEnv) -> StepResult:
    policy, _ = env.policy()
    stats = await judge_period(
        source=env.services.data_source,
        repo=env.services.repo,
        specs=[_specs()[m] for m in env.inputs["measures"]],
        policy=policy,
        start=datetime.fromisoformat(env.inputs["start"]),
        end=datetime.fromisoformat(env.inputs["end"]),
        progress=lambda _i, _n: env.heartbeat(),
    )
    return StepResult(asdict(stats))


async def gaps(env: StepEnv) -> StepResult:
    from agents.cdi.review import cdi_review

    return StepResult(await asyncio.to_thread(cdi_review, env.record()))


async def suggest_codes(env: StepEnv) -> StepResult:
    from agents.icd.suggest import suggest
    from agents.operations.common import icd_index
    from agents.operations.icd_suggest import suggestion_parameters

    index = await icd_index()
    record = env.record()
    return StepResult(await asyncio.to_thread(lambda: suggestion_parameters(suggest(record, index), record)))


STEPS: dict[str, StepFn] = {
    "context": context,
    "verify-facts": verify_facts,
    "judge": judge,
    "report": report,
    "prefer-refined": prefer_refined,
    "store": store,
    "judge-period": judge_period_step,
    "gaps": gaps,
    "suggest-codes": suggest_codes,
}
