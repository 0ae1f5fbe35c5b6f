"""The store's Library hook: translate ``text/cql`` content and attach the ELM (or refuse with 422)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from measures.engine import CqlTranslationError, translate_cql
from measures.library_content import cql_of, with_elm
from measures.translation_outcome import translation_violation


async def prepare_library(resource: dict[str, Any], *, includes: Sequence[str] = ()) -> dict[str, Any]:
    """Return ``resource`` with ``application/elm+json`` content translated from its ``text/cql``.

    A Library without CQL is returned unchanged. Included libraries are MedQC's FHIRHelpers 4.0.1,
    the CQL texts given in ``includes``, or libraries loaded later (such a Library is translated at
    evaluation time instead). Translation errors raise
    :class:`fhir_ops.errors.BusinessRuleViolation` (422) whose OperationOutcome has one issue per
    error with its line and column.
    """
    cql = cql_of(resource)
    if cql is None:
        return resource
    try:
        library = (await translate_cql([cql, *includes]))[0]
    except CqlTranslationError as exc:
        if _only_missing_includes(exc):
            return resource
        raise translation_violation(exc) from exc
    assert library.elm is not None
    return with_elm(resource, library.elm)


def _only_missing_includes(exc: CqlTranslationError) -> bool:
    """Errors that only say an included library's source could not be found (it may be loaded later)."""
    messages = [i.message for i in exc.issues] or [str(exc)]
    return all("Could not load source for library" in m for m in messages)
