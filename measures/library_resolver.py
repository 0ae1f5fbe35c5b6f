"""Find a Measure's Libraries (and their includes) in the store and bring each to ELM."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhir_ops.errors import BusinessRuleViolation, NotFound
from fhir_ops.store.protocol import ResourceRepository
from measures.builtin import fhirhelpers_cql, library_resource
from measures.elm_util import elm_includes
from measures.engine import CqlTranslationError, translate_cql
from measures.library_content import cql_of, elm_of, with_elm
from measures.translation_outcome import translation_violation


@dataclass(frozen=True)
class ResolvedLibrary:
    resource: dict[str, Any]  # the Library with application/elm+json content
    elm: dict[str, Any]


def split_canonical(canonical: str) -> tuple[str, str | None]:
    """``url|version`` → (url, version).

    >>> split_canonical("http://x/Library/A|1.0")
    ('http://x/Library/A', '1.0')
    """
    url, _, version = canonical.partition("|")
    return url, version or None


async def _search_one(repo: ResourceRepository, params: list[tuple[str, str]]) -> dict[str, Any] | None:
    result = await repo.search("Library", params)
    return result.matches[0] if result.matches else None


async def _by_canonical(repo: ResourceRepository, canonical: str) -> dict[str, Any]:
    url, version = split_canonical(canonical)
    params = [("url", url)] + ([("version", version)] if version else [])
    found = await _search_one(repo, params)
    if found is None and url.startswith("Library/"):
        found = await repo.read("Library", url.removeprefix("Library/"))
    if found is None:
        raise NotFound(f"Library {canonical} is not in the store", expression=["Measure.library"])
    return found


async def _find_by_name(repo: ResourceRepository, name: str, version: str | None) -> dict[str, Any] | None:
    """The stored Library of that exact name (and version, if given)."""
    return await _search_one(repo, [("name:exact", name)] + ([("version", version)] if version else []))


async def _by_name(repo: ResourceRepository, name: str, version: str | None) -> dict[str, Any]:
    found = await _find_by_name(repo, name, version)
    if found is not None:
        return found
    if name == "FHIRHelpers" and version in (None, "4.0.1"):
        return library_resource(fhirhelpers_cql())
    raise BusinessRuleViolation(
        f"included Library {name}" + (f" version '{version}'" if version else "") + " is not in the store",
        expression=["Library.relatedArtifact"],
    )


async def included_sources(repo: ResourceRepository, cql: str, *, skip: set[str]) -> list[str]:
    """The CQL of every library ``cql`` includes (transitively) that the store holds, for translating a
    Library on load; missing ones and FHIRHelpers (the worker's own) are left out."""
    texts: list[str] = []
    for name, version in cql_includes(cql):
        if name in skip or name == "FHIRHelpers":
            continue
        skip.add(name)
        found = await _find_by_name(repo, name, version)
        source = cql_of(found) if found is not None else None
        if source:
            texts += [source, *await included_sources(repo, source, skip=skip)]
    return texts


async def resolve_libraries(repo: ResourceRepository, main_canonical: str) -> list[ResolvedLibrary]:
    """The main Library first, then every library it includes (transitively), each with ELM.

    CQL content is translated (once per content hash, see :mod:`measures.engine.elm_cache`);
    a Library that only carries ELM is used as is.
    """
    main = await _by_canonical(repo, main_canonical)
    ordered: list[dict[str, Any]] = [main]
    seen = {(main.get("name"), main.get("version"))}
    queue = [main]
    while queue:
        library = queue.pop(0)
        cql = cql_of(library)
        includes = cql_includes(cql) if cql is not None else elm_includes(elm_of(library) or {})
        for name, version in includes:
            if (name, version) in seen:
                continue
            seen.add((name, version))
            dep = await _by_name(repo, name, version)
            ordered.append(dep)
            queue.append(dep)
    texts = [t for t in (cql_of(lib) for lib in ordered) if t is not None]
    translated: dict[tuple[str | None, str | None], dict[str, Any] | None] = {}
    if texts:
        try:
            for done in await translate_cql(texts):
                translated[(done.name, done.version)] = done.elm
        except CqlTranslationError as exc:
            raise translation_violation(exc) from exc
    out: list[ResolvedLibrary] = []
    for lib in ordered:
        elm = translated.get((lib.get("name"), lib.get("version"))) if cql_of(lib) is not None else None
        elm = elm or elm_of(lib)
        if elm is None:
            raise BusinessRuleViolation(
                f"Library/{lib.get('id')} has neither text/cql nor application/elm+json content",
                expression=["Library.content"],
            )
        out.append(ResolvedLibrary(with_elm(lib, elm), elm))
    return out


_INCLUDE = re.compile(r"^\s*include\s+(?:\"([^\"]+)\"|([\w.]+))(?:\s+version\s+'([^']+)')?", re.MULTILINE)


def cql_includes(cql: str) -> list[tuple[str, str | None]]:
    return [(m.group(1) or m.group(2), m.group(3)) for m in _INCLUDE.finditer(cql)]
