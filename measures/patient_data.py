"""Gather each subject's data as one patient Bundle (the types the measure logic retrieves)."""

from __future__ import annotations

from typing import Any

from fhir_ops.errors import BadRequest, NotFound
from fhir_ops.store.protocol import ResourceRepository

PAGE = 1000
CHUNK = 100  # patients per OR search
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
    (bundle,) = await patient_bundles(repo, [patient_id], data_types)
    return bundle


def _referenced_patients(resource: dict[str, Any], wanted: set[str]) -> list[str]:
    """Ids in ``wanted`` that ``resource`` names as ``Patient/<id>`` in a top-level reference
    (``subject``, ``patient``, ``beneficiary``, ...)."""
    found: list[str] = []
    for value in resource.values():
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            ref: str = value["reference"]
            pid = ref.removeprefix("Patient/")
            if ref.startswith("Patient/") and pid in wanted and pid not in found:
                found.append(pid)
    return found


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def patient_bundles(
    repo: ResourceRepository, patient_ids: list[str], data_types: set[str], *, chunk: int = CHUNK
) -> list[dict[str, Any]]:
    """One ``Bundle`` (collection) per patient, in ``patient_ids`` order, with the Patient and every
    resource of ``data_types`` about them.

    The store is asked once per resource type for a chunk of patients (``patient=id1,id2,...``, an
    OR search) rather than once per type and patient: a population of N patients costs about
    ``len(data_types) * N / chunk`` searches. Raises :class:`NotFound` for an unknown patient.
    """
    unique = list(dict.fromkeys(patient_ids))
    patients: dict[str, dict[str, Any]] = {}
    related: dict[str, list[dict[str, Any]]] = {pid: [] for pid in unique}
    for ids in _chunks(unique, chunk):
        for patient in await _search_all(repo, "Patient", [("_id", ",".join(ids))]):
            patients[str(patient.get("id"))] = patient
        missing = [pid for pid in ids if pid not in patients]
        if missing:
            raise NotFound(f"Patient/{missing[0]} not found", expression=["subject"])
        wanted = set(ids)
        for resource_type in sorted(data_types - {"Patient"}):
            param = PATIENT_PARAM.get(resource_type, "patient")
            if param is None:
                continue
            for resource in await _search_all(repo, resource_type, [(param, ",".join(ids))]):
                for pid in _referenced_patients(resource, wanted):
                    related[pid].append(resource)
    return [_bundle(patients[pid], related[pid]) for pid in patient_ids]


def _bundle(patient: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": f"patient-{patient.get('id')}",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{r['resourceType']}/{r.get('id')}", "resource": r} for r in [patient, *resources]
        ],
    }


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
