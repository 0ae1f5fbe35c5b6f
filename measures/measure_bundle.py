"""Assemble the measure bundle fqm-execution needs: Measure + Libraries with ELM + ValueSets."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fhir_ops.errors import BusinessRuleViolation
from fhir_ops.store.protocol import ResourceRepository
from measures.elm_util import elm_retrieved_types, elm_valuesets, pruned, reachable
from measures.engine import CqlEngine
from measures.engine.calculate import measure_bundle_key
from measures.library_content import with_elm
from measures.library_resolver import ResolvedLibrary, resolve_libraries, split_canonical


@dataclass(frozen=True)
class MeasureBundle:
    measure: dict[str, Any]
    bundle: dict[str, Any]
    libraries: list[ResolvedLibrary]
    data_types: set[str]  # FHIR types the logic retrieves (the patient data to gather)
    key: str  # content hash of ``bundle``: the worker keeps it prepared under this key
    warnings: tuple[str, ...] = ()  # e.g. value sets the logic declares but never uses, absent


async def find_valueset(repo: ResourceRepository, canonical: str) -> dict[str, Any] | None:
    url, version = split_canonical(canonical)
    params = [("url", url)] + ([("version", version)] if version else [])
    found = (await repo.search("ValueSet", params)).matches
    if not found and version:  # a package pins versions its value sets often do not carry
        found = (await repo.search("ValueSet", [("url", url)])).matches
    return found[0] if found else None


def _usable(canonical: str, valueset: dict[str, Any]) -> dict[str, Any]:
    url, _ = split_canonical(canonical)
    if not valueset.get("expansion", {}).get("contains") and not any(
        inc.get("concept") for inc in valueset.get("compose", {}).get("include", [])
    ):
        raise BusinessRuleViolation(
            f"ValueSet {canonical} has neither an expansion nor enumerated compose concepts",
            expression=["ValueSet.compose"],
        )
    # fqm-execution identifies value sets by url: keep the url the logic names.
    return {**valueset, "url": url}


async def build_measure_bundle(
    repo: ResourceRepository, measure: dict[str, Any], *, engine: CqlEngine
) -> MeasureBundle:
    """The Measure, its Libraries (with ELM) and every ValueSet they declare that the store holds.

    The main library goes to the engine with only the statements the Measure's logic reaches (its
    populations, stratifiers and supplemental data, followed through every reference):
    cql-execution evaluates every statement of the main library, and unused ones (e.g. risk
    variables) cost time and may need data the package lacks. A declared ValueSet the store lacks
    is a warning; an evaluation whose logic reaches it fails (422 from the engine, naming it).
    """
    libraries_refs = measure.get("library") or []
    if not libraries_refs:
        raise BusinessRuleViolation(
            f"Measure/{measure.get('id')} names no Library", expression=["Measure.library"]
        )
    libraries = await resolve_libraries(repo, libraries_refs[0], engine=engine)
    found_valuesets = await _declared_valuesets(repo, libraries)
    key = _fingerprint(measure, libraries, found_valuesets)
    hit: MeasureBundle | None = engine.memo.get(key)
    if hit is not None:
        return hit
    prepared = _assemble(measure, libraries, found_valuesets)
    engine.memo.put(key, prepared)
    return prepared


async def _declared_valuesets(
    repo: ResourceRepository, libraries: list[ResolvedLibrary]
) -> dict[str, dict[str, Any] | None]:
    """Every value set the libraries declare (by canonical), with what the store holds for it."""
    out: dict[str, dict[str, Any] | None] = {}
    for lib in libraries:
        for _, url, version in elm_valuesets(lib.elm):
            canonical = f"{url}|{version}" if version else url
            if canonical not in out:
                out[canonical] = await find_valueset(repo, canonical)
    return out


def _fingerprint(
    measure: dict[str, Any], libraries: list[ResolvedLibrary], valuesets: dict[str, dict[str, Any] | None]
) -> str:
    """Identity of everything a measure bundle is built from (a change to any of them misses)."""
    digest = hashlib.sha256(b"measure-bundle\0")
    digest.update(json.dumps(measure, sort_keys=True).encode())
    for lib in libraries:
        digest.update(b"\1" + lib.digest.encode())
    for canonical, found in sorted(valuesets.items()):
        meta = (found or {}).get("meta", {})
        stamp = f"{meta.get('versionId')}|{meta.get('lastUpdated')}" if meta.get("versionId") else None
        identity = stamp or (json.dumps(found, sort_keys=True) if found is not None else "absent")
        digest.update(f"\2{canonical}\3{identity}".encode())
    return "bundle:" + digest.hexdigest()


def _assemble(
    measure: dict[str, Any],
    libraries: list[ResolvedLibrary],
    found_valuesets: dict[str, dict[str, Any] | None],
) -> MeasureBundle:
    data_types: set[str] = set()
    valuesets: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    elms = {_elm_name(lib.elm): lib.elm for lib in libraries}
    main_name = _elm_name(libraries[0].elm)
    statements, used = reachable(elms, main_name, measure_expressions(measure))
    for lib in libraries:
        data_types |= elm_retrieved_types(lib.elm)
        for name, url, version in elm_valuesets(lib.elm):
            canonical = f"{url}|{version}" if version else url
            if url in valuesets:
                continue
            found = found_valuesets.get(canonical)
            if found is not None:
                valuesets[url] = _usable(canonical, found)
                continue
            where = f'valueset "{name}" ({canonical}) of Library {_elm_name(lib.elm)}'
            if (_elm_name(lib.elm), name) in used:
                warnings.append(f"{where} is not in the store: an evaluation that reaches its use fails")
            else:
                warnings.append(f"{where} is not in the store; the Measure's logic does not use it")
    main = libraries[0].resource
    keep = {name for library, name in statements if library == main_name}
    engine_libraries = [
        with_elm(main, pruned(libraries[0].elm, keep)),
        *(lib.resource for lib in libraries[1:]),
    ]
    measure_for_engine = {**measure, "library": [_canonical(main)]}
    entries = [measure_for_engine, *engine_libraries, *valuesets.values()]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:medqc:{r['resourceType']}:{r.get('id')}", "resource": r} for r in entries
        ],
    }
    return MeasureBundle(measure, bundle, libraries, data_types, measure_bundle_key(bundle), tuple(warnings))


def _canonical(library: dict[str, Any]) -> str:
    url = library.get("url") or f"Library/{library.get('id')}"
    return str(url)


def _elm_name(elm: dict[str, Any]) -> str:
    return str(elm.get("library", {}).get("identifier", {}).get("id", ""))


def measure_expressions(measure: dict[str, Any]) -> list[str]:
    """The CQL expressions a Measure names: population criteria, stratifiers (and their components),
    supplemental data."""
    out: list[str] = []
    holders: list[dict[str, Any]] = list(measure.get("supplementalData", []))
    for group in measure.get("group", []):
        holders += group.get("population", [])
        for stratifier in group.get("stratifier", []):
            holders += [stratifier, *stratifier.get("component", [])]
    for holder in holders:
        expression = (holder.get("criteria") or {}).get("expression")
        if expression and expression not in out:
            out.append(str(expression))
    return out
