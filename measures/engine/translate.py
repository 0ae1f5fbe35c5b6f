"""CQL → ELM through the worker, once per content hash."""

from __future__ import annotations

from measures.engine.elm_cache import elm_key
from measures.engine.errors import CqlTranslationError
from measures.engine.models import TranslatedLibrary
from measures.engine.pool import CqlEngine


async def translate_cql(
    texts: list[str],
    *,
    engine: CqlEngine,
    raise_on_error: bool = True,
) -> list[TranslatedLibrary]:
    """Translate each CQL text (they may include each other) to ELM JSON, in input order.

    Cached ELM is reused; only misses go to the worker, in one request. With ``raise_on_error``
    the first library with translator errors raises :class:`CqlTranslationError` (line/column).
    """
    cache = engine.cache
    keys = [elm_key(text, texts) for text in texts]
    results: list[TranslatedLibrary | None] = []
    for key in keys:
        elm = cache.get(key)
        results.append(None if elm is None else _from_elm(elm))
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        async with engine.lease() as worker:
            raw = await worker.request("translate", {"cql": texts})
        translated = [TranslatedLibrary.model_validate(item) for item in raw]
        for i in missing:
            results[i] = translated[i]
            if not translated[i].fatal and translated[i].elm is not None:
                cache.put(keys[i], translated[i].elm or {})
    done = [r for r in results if r is not None]
    if raise_on_error:
        for lib in done:
            if lib.fatal or lib.elm is None:
                raise CqlTranslationError(lib.fatal, library=lib.name, version=lib.version)
    return done


def _from_elm(elm: dict[str, object]) -> TranslatedLibrary:
    library = elm.get("library")
    ident = library.get("identifier", {}) if isinstance(library, dict) else {}
    return TranslatedLibrary(name=ident.get("id"), version=ident.get("version"), elm=elm, errors=[])
