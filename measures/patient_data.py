"""Gather each subject's data as one patient Bundle (the types the measure logic retrieves).

Resources that point at the patient are found through each type's patient search parameter (one
search per type and chunk of patients). Resources that do not (Location, Medication, Practitioner,
Organization, ...) reach the engine when a gathered resource references them: the references are
followed, one ``_id`` search per type and chunk, so the cost stays linear in the population.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

from fhir_ops.errors import BadRequest, NotFound
from fhir_ops.search.indexer import normalise_reference
from fhir_ops.search.parameters import params_for
from fhir_ops.store.protocol import ResourceRepository

PAGE = 1000
CHUNK = 100  # patients per search
MAX_PAGES = 10_000  # a bound on paging one search
MAX_DEPTH = 2  # reference hops followed from the patient's own resources
#: Search parameters naming the patient, in order of preference.
PATIENT_PARAMS = ("patient", "subject", "beneficiary")
#: Types every measure may need beside what it retrieves (cql-exec-fhir resolves nothing itself).
REFERENCED_TYPES = frozenset({"Location", "Medication", "Practitioner", "PractitionerRole", "Organization"})


async def _search_all(
    repo: ResourceRepository, resource_type: str, params: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every match, following ``_offset`` pages only when the first page is not the whole result."""
    page = await repo.search(resource_type, [*params, ("_count", str(PAGE))])
    out = list(page.matches)
    seen = {r.get("id") for r in out}
    for _ in range(MAX_PAGES):
        if len(out) >= page.total:
            break
        page = await repo.search(resource_type, [*params, ("_count", str(PAGE)), ("_offset", str(len(out)))])
        fresh = [r for r in page.matches if r.get("id") not in seen]
        if not fresh:
            break
        out.extend(fresh)
        seen.update(r.get("id") for r in fresh)
    return out


def patient_param(resource_type: str) -> str | None:
    """The search parameter of ``resource_type`` that names a Patient, if any."""
    params = params_for(resource_type)
    for name in PATIENT_PARAMS:
        param = params.get(name)
        if (
            param is not None
            and param.type == "reference"
            and (not param.targets or "Patient" in param.targets)
        ):
            return name
    return None


async def patient_bundle(repo: ResourceRepository, patient_id: str, data_types: set[str]) -> dict[str, Any]:
    """``Bundle`` (collection) with the Patient and every resource of ``data_types`` about them."""
    (bundle,) = await patient_bundles(repo, [patient_id], data_types)
    return bundle


def _references(node: Any) -> Iterator[str]:
    """Every literal ``reference`` string anywhere in a resource."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("reference")
            if isinstance(ref, str):
                yield ref
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))


def _referenced_patients(resource: dict[str, Any], wanted: set[str]) -> list[str]:
    """Ids in ``wanted`` that ``resource`` names as ``Patient/<id>`` in a top-level reference
    (``subject``, ``patient``, ``beneficiary``, ...)."""
    found: list[str] = []
    for value in resource.values():
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            ref_type, pid = normalise_reference(value["reference"])
            if ref_type == "Patient" and pid in wanted and pid not in found:
                found.append(pid)
    return found


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def patient_bundles(
    repo: ResourceRepository, patient_ids: list[str], data_types: set[str], *, chunk: int = CHUNK
) -> list[dict[str, Any]]:
    """One ``Bundle`` (collection) per patient, in ``patient_ids`` order (see :func:`stream_bundles`)."""
    out: dict[str, dict[str, Any]] = {}
    async for bundles in stream_bundles(repo, patient_ids, data_types, chunk=chunk):
        for bundle in bundles:
            out[str(bundle["id"]).removeprefix("patient-")] = bundle
    return [out[pid] for pid in patient_ids]


async def stream_bundles(
    repo: ResourceRepository,
    patient_ids: list[str],
    data_types: set[str],
    *,
    chunk: int = CHUNK,
    skip_missing: bool = False,
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Patient Bundles, ``chunk`` patients at a time (memory is bounded by the chunk, not the population).

    Per chunk: one search per retrieved type with a patient parameter (``patient=id1,id2,...``),
    then the references of what was found, followed up to :data:`MAX_DEPTH` hops for types without
    one (one ``_id`` search per type). Raises :class:`NotFound` for an unknown patient, unless
    ``skip_missing`` (the ids are candidates read off other resources, not a caller's subjects).
    """
    unique = list(dict.fromkeys(patient_ids))
    by_patient_types = sorted(t for t in data_types - {"Patient"} if patient_param(t))
    referenced_types = (data_types - {"Patient"} - set(by_patient_types)) | REFERENCED_TYPES
    for named in _chunks(unique, chunk):
        found = await _search_all(repo, "Patient", [("_id", ",".join(named))])
        patients = {str(p.get("id")): p for p in found}
        missing = [pid for pid in named if pid not in patients]
        if missing and not skip_missing:
            raise NotFound(f"Patient/{missing[0]} not found", expression=["subject"])
        ids = [pid for pid in named if pid in patients]
        if not ids:
            continue
        wanted = set(ids)
        related: dict[str, list[dict[str, Any]]] = {pid: [] for pid in ids}
        for resource_type in by_patient_types:
            param = patient_param(resource_type)
            assert param is not None
            for resource in await _search_all(repo, resource_type, [(param, ",".join(ids))]):
                for pid in _referenced_patients(resource, wanted):
                    related[pid].append(resource)
        await _follow_references(repo, related, referenced_types)
        yield [_bundle(patients[pid], related[pid]) for pid in ids]


async def _follow_references(
    repo: ResourceRepository, related: dict[str, list[dict[str, Any]]], types: set[str]
) -> None:
    """Add to each patient's resources the resources of ``types`` they reference (transitively)."""
    frontier = {pid: list(resources) for pid, resources in related.items()}
    have = {
        pid: {(r.get("resourceType"), r.get("id")) for r in resources} for pid, resources in related.items()
    }
    for _ in range(MAX_DEPTH):
        wanted: dict[str, dict[str, set[str]]] = {}  # type -> id -> patients
        for pid, resources in frontier.items():
            for resource in resources:
                for ref in _references(resource):
                    ref_type, ref_id = normalise_reference(ref)
                    if ref_type in types and (ref_type, ref_id) not in have[pid]:
                        wanted.setdefault(ref_type, {}).setdefault(ref_id, set()).add(pid)
        if not wanted:
            return
        frontier = {pid: [] for pid in related}
        for ref_type, by_id in sorted(wanted.items()):
            for ids in _chunks(sorted(by_id), CHUNK):
                for resource in await _search_all(repo, ref_type, [("_id", ",".join(ids))]):
                    for pid in by_id.get(str(resource.get("id")), ()):
                        if (ref_type, resource.get("id")) not in have[pid]:
                            have[pid].add((ref_type, resource.get("id")))
                            related[pid].append(resource)
                            frontier[pid].append(resource)


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
