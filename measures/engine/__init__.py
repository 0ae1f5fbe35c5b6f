"""The CQL engine seam: ELM translation (cached) and measure calculation in one long-lived Node worker.

Layers (style item 6): :mod:`.worker` runs the process, :mod:`.translate` turns CQL into ELM through
the :mod:`.elm_cache`, :mod:`.calculate` runs fqm-execution and returns the typed :mod:`.models`;
every failure is a :class:`.errors.CqlError` that names the library, version, expression and location.
"""

from measures.engine.calculate import calculate_measure
from measures.engine.elm_cache import ElmCache, default_elm_cache
from measures.engine.errors import CqlCalculationError, CqlError, CqlTranslationError, CqlWorkerError
from measures.engine.models import (
    EpisodeResult,
    GroupResult,
    PatientResult,
    PopulationResult,
    StratumResult,
    TranslatedLibrary,
    TranslationIssue,
)
from measures.engine.translate import translate_cql
from measures.engine.worker import CqlWorker, get_worker

__all__ = [
    "CqlCalculationError",
    "CqlError",
    "CqlTranslationError",
    "CqlWorker",
    "CqlWorkerError",
    "ElmCache",
    "EpisodeResult",
    "GroupResult",
    "PatientResult",
    "PopulationResult",
    "StratumResult",
    "TranslatedLibrary",
    "TranslationIssue",
    "calculate_measure",
    "default_elm_cache",
    "get_worker",
    "translate_cql",
]
