"""The encounter-discharge flow: judge the record fast, keep the reports, refine in the background.

The hook must answer in about 500 ms, so it runs the fast policy (structured + lexical). When a language
model is configured, the full policy re-judges the same record in the background; its reports replace
the fast ones in the store (the review page shows them) and are served on the next call for an unchanged
record.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson

from agents.fact_observations import clinical_record
from agents.qc_evaluate import Judge, Policy, QcResult, qc_judge
from fhir_ops.data_access.record import EncounterRecord
from fhir_ops.errors import FhirError
from fhir_ops.store.protocol import ResourceRepository

log = logging.getLogger(__name__)

EXT_RECORD_HASH = "http://medqc.org/fhir/StructureDefinition/qc-record-hash"
EXT_POLICY = "http://medqc.org/fhir/StructureDefinition/qc-policy"
#: How many encounters' last stored judgement the judge remembers (to skip storing it again).
STORED_MEMORY = 4096
#: Pauses between attempts to store a judgement while the database is unavailable (about a minute).
STORE_RETRY_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def record_hash(record: EncounterRecord) -> str:
    """A digest of what the judgement depends on (the clinical resources, not their meta, not MedQC's
    own fact Observations)."""
    payload = [{k: v for k, v in r.items() if k != "meta"} for r in clinical_record(record).resources()]
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def report_id(encounter_id: str, report: dict[str, Any]) -> str:
    measure_id = str(report.get("measure", "")).split("|")[0].rsplit("/", 1)[-1]
    return f"qc-{encounter_id}-{measure_id}"[:64]


def _stamp(report: dict[str, Any], digest: str, policy: str) -> dict[str, Any]:
    extensions = [
        e for e in report.get("extension") or [] if e.get("url") not in {EXT_RECORD_HASH, EXT_POLICY}
    ]
    extensions += [{"url": EXT_RECORD_HASH, "valueString": digest}, {"url": EXT_POLICY, "valueCode": policy}]
    return {**report, "extension": extensions}


def _ext(report: dict[str, Any], url: str) -> Any:
    return next(
        (
            e.get("valueString") or e.get("valueCode")
            for e in report.get("extension") or []
            if e.get("url") == url
        ),
        None,
    )


async def store_reports(
    repo: ResourceRepository,
    encounter_id: str,
    bundle: dict[str, Any],
    *,
    digest: str,
    policy: str,
    observations: list[dict[str, Any]] | None = None,
) -> None:
    """Keep the latest fact Observations and report of each measure for the encounter (one versioned
    resource each: a changed record supersedes them), in one transaction."""
    entries = [
        {"resource": obs, "request": {"method": "PUT", "url": f"Observation/{obs['id']}"}}
        for obs in observations or []
    ]
    for entry in bundle.get("entry") or []:
        report = _stamp(dict(entry["resource"]), digest, policy)
        report["id"] = report_id(encounter_id, report)
        entries.append(
            {"resource": report, "request": {"method": "PUT", "url": f"MeasureReport/{report['id']}"}}
        )
    if entries:
        await repo.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})


class DischargeJudge:
    """Fast judgement for the hook, with stored results and an optional background refinement."""

    def __init__(
        self,
        repo: ResourceRepository,
        *,
        judge: Judge,
        fast: Policy,
        full: Policy | None = None,
        spawn: Callable[[Coroutine[Any, Any, None]], Any] | None = None,
        store_retry_s: tuple[float, ...] = STORE_RETRY_S,
    ) -> None:
        self.repo = repo
        self.judge = judge
        self.fast = fast
        self.full = full
        self.store_retry_s = store_retry_s
        self._spawn = spawn or (lambda coro: asyncio.get_running_loop().create_task(coro))
        self._pending: set[Any] = set()
        self._stored: dict[str, tuple[str, str]] = {}

    async def __call__(self, record: EncounterRecord) -> dict[str, Any]:
        digest = record_hash(record)
        encounter_id = (record.encounter or {}).get("id")
        # Reports are validated where they are served as FHIR ($qc-evaluate); here they become cards.
        result = await qc_judge(
            record,
            measures=None,
            denominator_asserted=False,
            policy=self.fast,
            judge=self.judge,
            digest=digest,
            validate=False,
        )
        bundle = result.bundle
        if encounter_id:
            if self.full is not None:
                bundle = await self._prefer_refined(encounter_id, bundle, digest)
            self._background(self._keep(encounter_id, result, digest, "fast"))
            if self.full is not None:
                self._background(self._refine(record, encounter_id, digest))
        return bundle

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the response: storing and refining never delay the hook."""
        task = self._spawn(work)
        self._pending.add(task)
        if hasattr(task, "add_done_callback"):
            task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the background work in flight (shutdown, tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _prefer_refined(self, encounter_id: str, bundle: dict[str, Any], digest: str) -> dict[str, Any]:
        """Swap in the stored full-policy report of a measure when it judged this very record."""
        entries = []
        for entry in bundle.get("entry") or []:
            try:
                stored = await self.repo.read("MeasureReport", report_id(encounter_id, entry["resource"]))
            except FhirError:
                stored = None
            if stored and _ext(stored, EXT_RECORD_HASH) == digest and _ext(stored, EXT_POLICY) == "full":
                entries.append({**entry, "resource": stored})
            else:
                entries.append(entry)
        return {**bundle, "entry": entries}

    async def _keep(self, encounter_id: str, result: QcResult, digest: str, policy: str) -> None:
        """Store the judgement, retrying while the database is unavailable; it counts as stored only
        once the write succeeded, so a later hook for the same record stores it if every try failed."""
        if self._stored.get(encounter_id) == (digest, policy):
            return  # this very judgement is already stored
        bundle = result.bundle
        fresh = {
            **bundle,
            "entry": [e for e in bundle.get("entry") or [] if _ext(e["resource"], EXT_POLICY) != "full"],
        }
        for delay in (*self.store_retry_s, None):
            try:
                await store_reports(
                    self.repo,
                    encounter_id,
                    fresh,
                    digest=digest,
                    policy=policy,
                    observations=result.observations,
                )
            except FhirError as exc:  # the hook has answered; the review page waits for a retry
                log.warning("could not store QC reports", extra={"error": type(exc).__name__})
                if delay is None:
                    return
                await asyncio.sleep(delay)
                continue
            self._stored[encounter_id] = (digest, policy)
            if len(self._stored) > STORED_MEMORY:
                self._stored.pop(next(iter(self._stored)))
            return

    async def _refine(self, record: EncounterRecord, encounter_id: str, digest: str) -> None:
        assert self.full is not None
        try:
            result = await qc_judge(
                record,
                measures=None,
                denominator_asserted=False,
                policy=self.full,
                judge=self.judge,
                digest=digest,
            )
        except Exception:
            log.exception("background QC refinement failed")
            return
        await self._keep(encounter_id, result, digest, "full")
