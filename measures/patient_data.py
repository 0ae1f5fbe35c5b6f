"""Gather each subject's data as one patient Bundle (the types the measure logic retrieves)."""

from __future__ import annotations

import asyncio
from typing import Any

from fhir_ops.errors import BadRequest, NotFound
from fhir_ops.store.protocol import ResourceRepository

PAGE = 1000
PATIENT_PARAM = {"Patient": None, "Coverage": "beneficiary"}


async def _search_all(
    repo: ResourceRepository, resource_type: str, params: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every match, following ``_offset`` pages only when the first page is not the whole result."""
    page = await repo.search(resource_type, [*params, ("_count", str(PAGE))])
    out = list(page.matches)
    seen = {r.get("id") for r in out}
    while len(out) < page.total:
        page = await repo.search(resource_type, [*params, ("_count", str(PAGE)), ("_offset", str(len(out)))])
        fresh = [r for r in page.matches if r.get("id") not in seen]
        if not fresh:
            break
        out.extend(fresh)
        seen.update(r.get("id") for r in fresh)
    return out


async def patient_bundle(repo: ResourceRepository, patient_id: str, data_types: set[str]) -> dict[str, Any]:
    """``Bundle`` (collection) with the Patient and every resource of ``data_types`` about them."""
    patient = await repo.read("Patient", patient_id)
    resources: list[dict[str, Any]] = [patient]
    for resource_type in sorted(data_types - {"Patient"}):
        param = PATIENT_PARAM.get(resource_type, "patient")
        if param is None:
            continue
        resources.extend(await _search_all(repo, resource_type, [(param, patient_id)]))
    return {
        "resourceType": "Bundle",
        "id": f"patient-{patient_id}",
        "type": "collection",
        "entry": [{"fullUrl": f"{r['resourceType']}/{r.get('id')}", "resource": r} for r in resources],
    }


async def patient_bundles(
    repo: ResourceRepository, patient_ids: list[str], data_types: set[str], *, concurrency: int = 8
) -> list[dict[str, Any]]:
    limit = asyncio.Semaphore(concurrency)

    async def one(pid: str) -> dict[str, Any]:
        async with limit:
            return await patient_bundle(repo, pid, data_types)

    return list(await asyncio.gather(*(one(pid) for pid in patient_ids)))


async def subject_patient_ids(repo: ResourceRepository, subject: str | None) -> list[str]:
    """Patients named by ``subject``: ``Patient/x``, ``Group/y`` (its members), or every Patient."""
    if subject is None:
        return [p["id"] for p in await _search_all(repo, "Patient", [])]
    kind, _, ident = subject.partition("/")
    if not ident:
        kind, ident = "Patient", kind
    if kind == "Patient":
        await repo.read("Patient", ident)  # NotFound if absent
        return [ident]
    if kind == "Group":
        group = await repo.read("Group", ident)
        ids = []
        for member in group.get("member", []):
            ref = member.get("entity", {}).get("reference", "")
            if ref.startswith("Patient/") and not member.get("inactive", False):
                ids.append(ref.removeprefix("Patient/"))
        if not ids:
            raise NotFound(f"Group/{ident} has no Patient members", expression=["subject"])
        return ids
    raise BadRequest(f"subject must be Patient/<id> or Group/<id>, not '{subject}'", expression=["subject"])
