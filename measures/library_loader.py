"""The store's Library write hook: attach ELM translated from ``text/cql`` (or refuse with 422).

Measure packages ship in one transaction whose entries are prepared before any is written, in any
order, so a Library's includes may not be in the store yet. Loading therefore never requires them:

- a Library that ships ``application/elm+json`` keeps it (the package's own translation); it is
  refused only when that ELM records translator errors;
- a ``text/cql`` Library is translated with the CQL of the includes the store already holds; when
  an include is not found yet, it is stored as is and translated at evaluation, where an include
  that never arrived (or any other translator error) is a 422 naming it;
- any other translator error is a 422 whose OperationOutcome carries each message with its line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fhir_ops.errors import BusinessRuleViolation
from fhir_ops.store.protocol import ResourceRepository
from measures.engine import CqlEngine, CqlTranslationError, TranslationIssue, translate_cql
from measures.library_content import cql_of, elm_of, with_elm
from measures.library_resolver import included_sources
from measures.translation_outcome import translation_violation

LibraryHook = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def library_write_hook(repo: ResourceRepository, engine: CqlEngine) -> LibraryHook:
    """The write hook for ``Library``: :func:`prepare_library` with the includes ``repo`` holds."""

    async def hook(resource: dict[str, Any]) -> dict[str, Any]:
        cql = cql_of(resource)
        if cql is None or elm_of(resource) is not None:
            return await prepare_library(resource, engine=engine)
        skip = {f"{resource.get('name')}|{resource.get('version') or ''}"}
        includes = await included_sources(repo, cql, skip=skip)
        return await prepare_library(resource, includes=includes, engine=engine)

    return hook


async def prepare_library(
    resource: dict[str, Any], *, engine: CqlEngine, includes: Sequence[str] = ()
) -> dict[str, Any]:
    """Return ``resource`` with ``application/elm+json`` content (see the module docstring).

    ``includes`` are the CQL texts of the libraries it includes (MedQC's FHIRHelpers 4.0.1 is the
    worker's own). Raises :class:`fhir_ops.errors.BusinessRuleViolation` (422) for translator errors.
    """
    shipped = elm_of(resource)
    if shipped is not None:
        errors = shipped_errors(shipped)
        if errors:
            raise translation_violation(
                CqlTranslationError(errors, library=resource.get("name"), version=resource.get("version"))
            )
        return resource
    cql = cql_of(resource)
    if cql is None:
        return resource
    try:
        library = (await translate_cql([cql, *includes], engine=engine))[0]
    except CqlTranslationError as exc:
        if _missing_includes(exc):
            return resource
        raise translation_violation(exc) from exc
    if library.elm is None:  # pragma: no cover - translate_cql raises for a library without ELM
        raise BusinessRuleViolation("CQL translation produced no ELM", expression=["Library.content"])
    return with_elm(resource, library.elm)


def shipped_errors(elm: dict[str, Any]) -> list[TranslationIssue]:
    """Error annotations a shipped ELM records (``CqlToElmError`` with severity error)."""
    out = []
    for note in elm.get("library", {}).get("annotation", []):
        if note.get("type") == "CqlToElmError" and str(note.get("errorSeverity", "error")).lower() == "error":
            out.append(
                TranslationIssue(
                    message=str(note.get("message") or "translation error"),
                    library=note.get("libraryId"),
                    version=note.get("libraryVersion"),
                    line=note.get("startLine"),
                    column=note.get("startChar"),
                )
            )
    return out


def _missing_includes(exc: CqlTranslationError) -> bool:
    """Whether an included library's source could not be found (it may be loaded later, e.g. by a later
    entry of the same transaction). Its other errors may follow from the missing include (unresolved
    identifiers), so the Library is translated again at evaluation, with every include, and any
    error then is a 422."""
    messages = [i.message for i in exc.issues] or [str(exc)]
    return any("Could not load source for library" in m for m in messages)
