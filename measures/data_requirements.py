"""``$data-requirements``: what a Measure's (or a Library's) logic reads, as a ``module-definition``
Library — each ``Retrieve`` of the logic as a DataRequirement (type, profile, code filter by value set
or code), and the libraries and value sets it depends on as ``relatedArtifact``.

For a Measure only the statements its populations, stratifiers and supplemental data reach count
(the logic the engine runs); for a Library every statement does.
"""

from __future__ import annotations

import uuid
from typing import Any

from measures.elm_util import FHIR_NS, elm_valuesets, reachable
from measures.library_resolver import ResolvedLibrary

#: Retrieves looked at in one library set (real measures have a few hundred).
MAX_RETRIEVES = 10_000


def _name(elm: dict[str, Any]) -> str:
    return str(elm.get("library", {}).get("identifier", {}).get("id"))


def _aliases(elm: dict[str, Any]) -> dict[str, str]:
    defs = elm.get("library", {}).get("includes", {}).get("def", [])
    return {str(d.get("localIdentifier") or d["path"]): str(d["path"]).rsplit("/", 1)[-1] for d in defs}


def _valueset_urls(libraries: list[ResolvedLibrary]) -> dict[tuple[str, str], str]:
    """(library name, value set name) → canonical (``url|version`` when the declaration has one)."""
    out: dict[tuple[str, str], str] = {}
    for lib in libraries:
        for name, url, version in elm_valuesets(lib.elm):
            out[(_name(lib.elm), name)] = f"{url}|{version}" if version else url
    return out


def _retrieves(node: Any, limit: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack: list[Any] = [node]
    while stack and len(found) < limit:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "Retrieve" and isinstance(item.get("dataType"), str):
                found.append(item)
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _code_filter(
    retrieve: dict[str, Any], library: str, aliases: dict[str, str], valuesets: dict[tuple[str, str], str]
) -> dict[str, Any] | None:
    codes = retrieve.get("codes")
    path = retrieve.get("codeProperty") or "code"
    if not isinstance(codes, dict):
        return None
    if codes.get("type") == "ValueSetRef" and codes.get("name"):
        owner = aliases.get(str(codes.get("libraryName")), library) if codes.get("libraryName") else library
        url = valuesets.get((owner, str(codes["name"])))
        return {"path": path, "valueSet": url} if url else None
    if codes.get("type") == "ToList" and isinstance(codes.get("operand"), dict):
        operand = codes["operand"]
        if operand.get("type") == "CodeRef":
            return {"path": path, "code": [{"display": str(operand.get("name"))}]}
    return None


def _requirements(libraries: list[ResolvedLibrary], statements: set[tuple[str, str]] | None) -> list[Any]:
    valuesets = _valueset_urls(libraries)
    seen: dict[str, dict[str, Any]] = {}
    budget = MAX_RETRIEVES
    for lib in libraries:
        name = _name(lib.elm)
        aliases = _aliases(lib.elm)
        defs = lib.elm.get("library", {}).get("statements", {}).get("def", [])
        for statement in defs:
            if statements is not None and (name, str(statement.get("name"))) not in statements:
                continue
            for retrieve in _retrieves(statement, budget):
                budget -= 1
                requirement: dict[str, Any] = {
                    "type": str(retrieve["dataType"]).removeprefix(FHIR_NS).split("}")[-1]
                }
                if isinstance(retrieve.get("templateId"), str):
                    requirement["profile"] = [retrieve["templateId"]]
                code_filter = _code_filter(retrieve, name, aliases, valuesets)
                if code_filter is not None:
                    requirement["codeFilter"] = [code_filter]
                key = repr(sorted(requirement.items()))
                seen.setdefault(key, requirement)
    return sorted(seen.values(), key=repr)


def module_definition(
    libraries: list[ResolvedLibrary], *, expressions: list[str] | None, subject: str = "Patient"
) -> dict[str, Any]:
    """The ``module-definition`` Library of ``libraries`` (the first is the main one). With
    ``expressions`` (a Measure's), only what they reach."""
    statements = None
    if expressions is not None:
        elms = {_name(lib.elm): lib.elm for lib in libraries}
        statements, _ = reachable(elms, _name(libraries[0].elm), expressions)
    related: list[dict[str, Any]] = []
    for lib in libraries[1:]:
        url = lib.resource.get("url")
        version = lib.resource.get("version")
        if url:
            related.append({"type": "depends-on", "resource": f"{url}|{version}" if version else url})
    for canonical in sorted(set(_valueset_urls(libraries).values())):
        related.append({"type": "depends-on", "resource": canonical})
    library: dict[str, Any] = {
        "resourceType": "Library",
        "id": str(uuid.uuid4()),
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/library-type",
                    "code": "module-definition",
                }
            ]
        },
        "subjectCodeableConcept": {
            "coding": [{"system": "http://hl7.org/fhir/resource-types", "code": subject}]
        },
    }
    if related:
        library["relatedArtifact"] = related
    requirements = _requirements(libraries, statements)
    if requirements:
        library["dataRequirement"] = requirements
    return library
