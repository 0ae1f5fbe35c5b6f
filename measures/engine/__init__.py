"""The CQL engine seam: ELM translation (cached) and measure calculation in long-lived Node workers.

Layers (style item 6): :mod:`.worker` runs one process, :mod:`.pool` the process pool and cache
(:class:`CqlEngine`, built from the injected settings), :mod:`.translate` turns CQL into ELM through
the :mod:`.elm_cache`, :mod:`.calculate` runs fqm-execution and returns the typed :mod:`.models`;
every failure is a :class:`.errors.CqlError` that names the library, version, expression and location.
"""

from measures.engine.calculate import calculate_measure
from measures.engine.elm_cache import ElmCache
from measures.engine.errors import (
    CqlBusyError,
    CqlCalculationError,
    CqlError,
    CqlTimeoutError,
    CqlTranslationError,
    CqlWorkerError,
)
from measures.engine.models import (
    EpisodeResult,
    GroupResult,
    PatientResult,
    PopulationResult,
    ReportValue,
    StratumResult,
    TranslatedLibrary,
    TranslationIssue,
)
from measures.engine.pool import CqlEngine
from measures.engine.translate import translate_cql
from measures.engine.worker import CqlWorker

__all__ = [
    "CqlBusyError",
    "CqlCalculationError",
    "CqlEngine",
    "CqlError",
    "CqlTimeoutError",
    "CqlTranslationError",
    "CqlWorker",
    "CqlWorkerError",
    "ElmCache",
    "EpisodeResult",
    "GroupResult",
    "PatientResult",
    "PopulationResult",
    "ReportValue",
    "StratumResult",
    "TranslatedLibrary",
    "TranslationIssue",
    "calculate_measure",
    "translate_cql",
]
