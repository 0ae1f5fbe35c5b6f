"""What the encounter-discharge run keeps: the record digest, and the stored reports and Observations.

The run itself (fast judgement on the hook's budget; storing and, with a language model, the full-policy
refinement as durable steps of its workflow) is defined in agents/orchestration/graph.py. The refined
reports replace the fast ones in the store (the review page shows them) and are served on the next call
for an unchanged record.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import orjson

from agents.fact_observations import clinical_record
from fhir_ops.data_access.record import EncounterRecord
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
    own fact Observations), whatever order a source lists them in."""
    resources = sorted(
        clinical_record(record).resources(), key=lambda r: (str(r.get("resourceType")), str(r.get("id")))
    )
    payload = [{k: v for k, v in r.items() if k != "meta"} for r in resources]
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
