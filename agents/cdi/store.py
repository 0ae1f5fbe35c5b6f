"""Keep an encounter's CDI gaps as DetectedIssues: one resource per encounter and rule, updated in place.

Why a stable id per (encounter, rule) rather than one per (encounter, rule, record digest): a gap is one
question to the clinician, whatever version of the record raised it; the store's version history keeps
every state of it, and a client reads the current gaps with one search, never having to tell stale copies
from live ones.

- the same record reviewed again writes nothing (the stored issue carries the record digest it was
  raised on): no new version, no duplicate;
- a changed record on which the rule still fires updates the issue (a new version, the new digest);
- a changed record on which the rule no longer fires sets the issue's status to ``cancelled`` (the gap
  is closed; the issue is kept for the audit trail, not deleted);

all in one transaction.
"""

from __future__ import annotations

import hashlib
from typing import Any

from agents.discharge import record_hash
from agents.drafting.resources import CS_CDI
from agents.fact_observations import SD
from fhir_ops.data_access.record import EncounterRecord
from fhir_ops.store.protocol import ResourceRepository

EXT_RECORD_DIGEST = f"{SD}/cdi-record-digest"
#: more stored gaps than this for one encounter would mean more rules than exist: a bound on the search
MAX_STORED = 200


def stored_id(encounter_id: str, rule_id: str) -> str:
    """The id of the gap ``rule_id`` of ``encounter_id`` (a FHIR id: ``[A-Za-z0-9-.]{1,64}``).

    >>> stored_id("e1", "CDI-HF-TYPE") == stored_id("e1", "CDI-HF-TYPE") != stored_id("e2", "CDI-HF-TYPE")
    True
    """
    return "cdi-" + hashlib.sha256(f"{encounter_id}|{rule_id}".encode()).hexdigest()[:32]


def _digest(resource: dict[str, Any]) -> str | None:
    return next(
        (e.get("valueString") for e in resource.get("extension") or [] if e.get("url") == EXT_RECORD_DIGEST),
        None,
    )


def _stamped(resource: dict[str, Any], digest: str) -> dict[str, Any]:
    kept = [e for e in resource.get("extension") or [] if e.get("url") != EXT_RECORD_DIGEST]
    out = {k: v for k, v in resource.items() if k != "meta"}
    out["extension"] = [*kept, {"url": EXT_RECORD_DIGEST, "valueString": digest}]
    return out


async def _stored_gaps(repo: ResourceRepository, encounter_id: str) -> dict[str, dict[str, Any]]:
    found = await repo.search(
        "DetectedIssue", [("implicated", f"Encounter/{encounter_id}"), ("_count", str(MAX_STORED))]
    )
    return {
        str(r["id"]): r
        for r in found.matches
        if any(c.get("system") == CS_CDI for c in (r.get("code") or {}).get("coding") or [])
    }


async def store_gaps(
    repo: ResourceRepository, record: EncounterRecord, issues: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Keep ``issues`` (the gaps of ``record``, most severe first) and return them as stored, in order."""
    encounter_id = str((record.encounter or {}).get("id") or "")
    if not encounter_id:
        return issues
    digest = record_hash(record)
    stored = await _stored_gaps(repo, encounter_id)
    entries: list[dict[str, Any]] = []
    ids: list[str] = []
    for issue in issues:
        rid = stored_id(encounter_id, issue["code"]["coding"][0]["code"])
        ids.append(rid)
        old = stored.get(rid)
        if old is not None and _digest(old) == digest and old.get("status") != "cancelled":
            continue  # the same record: this gap is already kept
        entries.append(_put(_stamped({**issue, "id": rid}, digest)))
    for rid, old in stored.items():
        if rid not in ids and old.get("status") != "cancelled":
            entries.append(_put(_stamped({**old, "status": "cancelled"}, digest)))
    if entries:
        await repo.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return [await repo.read("DetectedIssue", rid) for rid in ids]


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "request": {"method": "PUT", "url": f"DetectedIssue/{resource['id']}"}}
