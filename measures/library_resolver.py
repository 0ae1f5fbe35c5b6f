"""Find a Measure's Libraries (and their includes) in the store and bring each to ELM.

Includes are resolved by name AND version (``include FHIRHelpers version '4.4.000'`` needs that
version). An ELM include ``path`` may be a bare name or a canonical URL
(``http://ecqi.healthit.gov/ecqms/FHIRHelpers``): the URL is tried as the Library's ``url``, then
its last segment as the Library's ``name``. A Library that ships ``application/elm+json`` is used
as shipped; one with only ``text/cql`` is translated (with the CQL of the libraries it includes).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from fhir_ops.errors import BusinessRuleViolation, NotFound
from fhir_ops.store.protocol import ResourceRepository
from measures.builtin import fhirhelpers_cql, library_resource
from measures.elm_util import elm_includes, elm_translator
from measures.engine import CqlEngine, CqlTranslationError, translate_cql
from measures.library_content import ELM_JSON, content_digest, cql_of, elm_of, raw_content, with_elm
from measures.translation_outcome import translation_violation

#: The FHIRHelpers version the CQL worker itself provides when the store has none.
BUILTIN_FHIRHELPERS = "4.0.1"
MAX_LIBRARIES = 200  # a bound on the include walk (real measures have ~10)


@dataclass(frozen=True)
class ResolvedLibrary:
    resource: dict[str, Any]  # the Library with application/elm+json content
    elm: dict[str, Any]
    digest: str  # content hash of the stored Library's CQL and ELM


def parsed_elm(library: dict[str, Any], engine: CqlEngine) -> dict[str, Any] | None:
    """The Library's shipped ELM, parsed once per content (memoised on ``engine``)."""
    if raw_content(library, ELM_JSON) is None:
        return None
    key = "elm:" + content_digest(library)
    elm: dict[str, Any] | None = engine.memo.get(key)
    if elm is None:
        elm = elm_of(library)
        engine.memo.put(key, elm)
    return elm


def split_canonical(canonical: str) -> tuple[str, str | None]:
    """``url|version`` → (url, version).

    >>> split_canonical("http://x/Library/A|1.0")
    ('http://x/Library/A', '1.0')
    """
    url, _, version = canonical.partition("|")
    return url, version or None


def include_name(path: str) -> str:
    """The library name of an include path (a name, or a canonical URL ending in the name).

    >>> include_name("http://ecqi.healthit.gov/ecqms/FHIRHelpers"), include_name("QICoreCommon")
    ('FHIRHelpers', 'QICoreCommon')
    """
    return path.rstrip("/").rsplit("/", 1)[-1]


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


async def find_included(repo: ResourceRepository, path: str, version: str | None) -> dict[str, Any] | None:
    """The stored Library an include names: by canonical ``url`` when the path is a URL, else by
    exact ``name``; the version must match when the include gives one."""
    versioned = [("version", version)] if version else []
    if "://" in path:
        found = await _search_one(repo, [("url", path), *versioned])
        if found is not None:
            return found
    return await _search_one(repo, [("name:exact", include_name(path)), *versioned])


async def _by_include(repo: ResourceRepository, path: str, version: str | None) -> dict[str, Any]:
    found = await find_included(repo, path, version)
    if found is not None:
        return found
    name = include_name(path)
    if name == "FHIRHelpers" and version in (None, BUILTIN_FHIRHELPERS):
        return library_resource(fhirhelpers_cql())
    raise BusinessRuleViolation(
        f"included Library {name}" + (f" version '{version}'" if version else "") + " is not in the store",
        expression=["Library.relatedArtifact"],
    )


async def included_sources(repo: ResourceRepository, cql: str, *, skip: set[str]) -> list[str]:
    """The CQL of every library ``cql`` includes (transitively) that the store holds, for translating a
    Library on load; missing ones are left out (the worker provides FHIRHelpers 4.0.1 itself)."""
    texts: list[str] = []
    for name, version in cql_includes(cql):
        key = f"{name}|{version or ''}"
        if key in skip or len(skip) > MAX_LIBRARIES:
            continue
        skip.add(key)
        found = await find_included(repo, name, version)
        source = cql_of(found) if found is not None else None
        if source:
            texts += [source, *await included_sources(repo, source, skip=skip)]
    return texts


async def resolve_libraries(
    repo: ResourceRepository, main_canonical: str, *, engine: CqlEngine
) -> list[ResolvedLibrary]:
    """The main Library first, then every library it includes (transitively), each with ELM.

    Stored ELM is used as is when the whole set shares one translator (see :func:`_with_elm`); else
    the set is translated together (once per content hash, see :mod:`measures.engine.elm_cache`).
    """
    main = await _by_canonical(repo, main_canonical)
    ordered: list[dict[str, Any]] = [main]
    seen = {(include_name(str(main.get("name") or "")), main.get("version"))}
    queue = [main]
    while queue:
        library = queue.pop(0)
        elm = parsed_elm(library, engine)
        cql = cql_of(library)
        includes = elm_includes(elm) if elm is not None else cql_includes(cql) if cql is not None else []
        for path, version in includes:
            key = (include_name(path), version)
            if key in seen:
                continue
            if len(seen) >= MAX_LIBRARIES:
                raise BusinessRuleViolation(
                    f"the Measure's Libraries include more than {MAX_LIBRARIES} libraries",
                    expression=["Library.relatedArtifact"],
                )
            seen.add(key)
            dep = await _by_include(repo, path, version)
            ordered.append(dep)
            queue.append(dep)
    return await _with_elm(ordered, engine)


async def _with_elm(ordered: list[dict[str, Any]], engine: CqlEngine) -> list[ResolvedLibrary]:
    """Each Library with ELM that fits the others.

    Stored ELM is used when every library of the set has ELM from one translator. Otherwise (a
    CQL-only library, or ELM from several translators, e.g. a package's main library translated by
    MedQC next to includes shipped by MADiE, or two packages sharing ``QICoreCommon``) every library
    that has CQL is translated together, so calls between them resolve against one set of signatures.
    """
    stored = [parsed_elm(lib, engine) for lib in ordered]
    origins = {elm_translator(elm) for elm in stored if elm is not None}
    if all(elm is not None for elm in stored) and len(origins) == 1:
        return [
            ResolvedLibrary(lib, elm, content_digest(lib))
            for lib, elm in zip(ordered, stored, strict=True)
            if elm is not None
        ]
    digests = [content_digest(lib) for lib in ordered]
    closure = hashlib.sha256("".join(digests).encode()).hexdigest()
    memo_key = f"resolved:{closure}"
    memo: list[ResolvedLibrary] | None = engine.memo.get(memo_key)
    if memo is not None:
        return memo
    texts = [t for t in (cql_of(lib) for lib in ordered) if t is not None]
    translated: dict[tuple[str | None, str | None], dict[str, Any] | None] = {}
    if texts:
        try:
            for done in await translate_cql(texts, engine=engine):
                translated[(done.name, done.version)] = done.elm
        except CqlTranslationError as exc:
            raise translation_violation(exc) from exc
    out: list[ResolvedLibrary] = []
    for lib, elm, digest in zip(ordered, stored, digests, strict=True):
        fresh = translated.get((lib.get("name"), lib.get("version")))
        if fresh is not None:
            out.append(ResolvedLibrary(with_elm(lib, fresh), fresh, digest))
        elif elm is not None:  # ELM only, no CQL to translate: the stored ELM is all there is
            out.append(ResolvedLibrary(lib, elm, digest))
        else:
            raise BusinessRuleViolation(
                f"Library/{lib.get('id')} has neither text/cql nor application/elm+json content",
                expression=["Library.content"],
            )
    engine.memo.put(memo_key, out)
    return out


_INCLUDE = re.compile(r"^\s*include\s+(?:\"([^\"]+)\"|([\w.]+))(?:\s+version\s+'([^']+)')?", re.MULTILINE)


def cql_includes(cql: str) -> list[tuple[str, str | None]]:
    """(name, version) of each ``include`` of a CQL text.

    >>> cql_includes("library A\\ninclude FHIRHelpers version '4.4.000' called FHIRHelpers\\ninclude B")
    [('FHIRHelpers', '4.4.000'), ('B', None)]
    """
    return [(m.group(1) or m.group(2), m.group(3)) for m in _INCLUDE.finditer(cql)]
