"""Assemble the measure bundle fqm-execution needs: Measure + Libraries with ELM + ValueSets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_ops.errors import BusinessRuleViolation
from fhir_ops.store.protocol import ResourceRepository
from measures.elm_util import elm_retrieved_types, elm_valueset_urls
from measures.engine.calculate import measure_bundle_key
from measures.library_resolver import ResolvedLibrary, resolve_libraries, split_canonical


@dataclass(frozen=True)
class MeasureBundle:
    measure: dict[str, Any]
    bundle: dict[str, Any]
    libraries: list[ResolvedLibrary]
    data_types: set[str]  # FHIR types the logic retrieves (the patient data to gather)
    key: str  # content hash of ``bundle``: the worker keeps it prepared under this key


async def resolve_valueset(repo: ResourceRepository, canonical: str) -> dict[str, Any]:
    url, version = split_canonical(canonical)
    params = [("url", url)] + ([("version", version)] if version else [])
    found = (await repo.search("ValueSet", params)).matches
    if not found:
        raise BusinessRuleViolation(
            f"ValueSet {canonical} is not in the store (load it with its expansion or compose)",
            expression=["Library.content"],
        )
    valueset = found[0]
    if not valueset.get("expansion", {}).get("contains") and not any(
        inc.get("concept") for inc in valueset.get("compose", {}).get("include", [])
    ):
        raise BusinessRuleViolation(
            f"ValueSet {canonical} has neither an expansion nor enumerated compose concepts",
            expression=["ValueSet.compose"],
        )
    # fqm-execution identifies value sets by url: keep the url the logic names.
    return {**valueset, "url": url}


async def build_measure_bundle(repo: ResourceRepository, measure: dict[str, Any]) -> MeasureBundle:
    libraries_refs = measure.get("library") or []
    if not libraries_refs:
        raise BusinessRuleViolation(
            f"Measure/{measure.get('id')} names no Library", expression=["Measure.library"]
        )
    libraries = await resolve_libraries(repo, libraries_refs[0])
    urls: list[str] = []
    data_types: set[str] = set()
    for lib in libraries:
        data_types |= elm_retrieved_types(lib.elm)
        urls.extend(u for u in elm_valueset_urls(lib.elm) if u not in urls)
    valuesets = [await resolve_valueset(repo, url) for url in urls]
    main = libraries[0].resource
    measure_for_engine = {**measure, "library": [_canonical(main)]}
    entries = [measure_for_engine, *(lib.resource for lib in libraries), *valuesets]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:medqc:{r['resourceType']}:{r.get('id')}", "resource": r} for r in entries
        ],
    }
    return MeasureBundle(measure, bundle, libraries, data_types, measure_bundle_key(bundle))


def _canonical(library: dict[str, Any]) -> str:
    url = library.get("url") or f"Library/{library.get('id')}"
    return str(url)
