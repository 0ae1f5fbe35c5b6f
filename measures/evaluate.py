"""``$evaluate-measure``: run a stored Measure over its subjects in one engine call → MeasureReport."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fhir_ops.errors import BadRequest, BusinessRuleViolation, FhirError, NotFound, ServiceUnavailable
from fhir_ops.store.protocol import ResourceRepository
from measures.engine import (
    CqlBusyError,
    CqlCalculationError,
    CqlEngine,
    CqlTimeoutError,
    calculate_measure,
)
from measures.engine.calculate import Engine
from measures.library_resolver import split_canonical
from measures.measure_bundle import MeasureBundle, build_measure_bundle
from measures.patient_data import CHUNK, stream_bundles, subject_patient_ids
from measures.period import Period, parse_period
from measures.report import ReportTally, ReportType, tallied_report

REPORT_TYPES: dict[str, ReportType] = {
    "subject": "individual",
    "subject-list": "subject-list",
    "population": "summary",
}


async def load_measure(
    repo: ResourceRepository, *, measure_id: str | None, measure_url: str | None
) -> dict[str, Any]:
    if measure_id:
        return await repo.read("Measure", measure_id)
    if not measure_url:
        raise BadRequest(
            "a Measure id or the `measure` parameter (canonical) is required", expression=["measure"]
        )
    url, version = split_canonical(measure_url)
    params = [("url", url)] + ([("version", version)] if version else [])
    matches = (await repo.search("Measure", params)).matches
    if not matches:
        raise NotFound(f"Measure {measure_url} is not in the store", expression=["measure"])
    return matches[0]


def resolve_report_type(report_type: str | None, subject: str | None) -> ReportType:
    """Spec defaults: ``subject`` when a (Patient) subject is given, else ``population``."""
    is_patient = bool(subject) and not str(subject).startswith("Group/")
    name = report_type or ("subject" if is_patient else "population")
    if name not in REPORT_TYPES:
        raise BadRequest(
            f"reportType must be one of subject, subject-list, population (got '{name}')",
            expression=["reportType"],
        )
    if name == "subject" and not is_patient:
        raise BadRequest("reportType=subject needs a Patient subject", expression=["subject"])
    return REPORT_TYPES[name]


async def evaluate_measure(
    repo: ResourceRepository,
    *,
    measure_id: str | None = None,
    measure_url: str | None = None,
    period_start: str | None,
    period_end: str | None,
    report_type: str | None,
    subject: str | None,
    cql: CqlEngine,
    engine: Engine = "prepared",
    chunk: int = CHUNK,
    candidates: list[str] | None = None,
) -> dict[str, Any]:
    """Evaluate a Measure (by ``measure_id``, or by canonical ``measure_url`` = ``url[|version]``).

    - ``period_start``/``period_end``: FHIR dates or dateTimes; partial dates cover what they name
      (``"2024"`` → the whole year). Missing bounds default to ``Measure.effectivePeriod``.
    - ``report_type``: ``subject`` | ``subject-list`` | ``population``; default ``subject`` when
      ``subject`` is a Patient, else ``population``.
    - ``subject``: ``Patient/<id>`` or ``Group/<id>`` (its Patient members); none = every Patient, or
      the ``candidates`` when given: the only patients the measure's populations can hold (e.g. those
      with an encounter in the period, for an encounter-based catalog indicator); ids of patients
      not in the store are skipped.

    Subjects go to the CQL engine ``chunk`` patients per call (memory bounded by the chunk).
    ``engine`` picks the worker's calculation path (see :func:`measures.engine.calculate_measure`;
    ``fqm`` is the stock reference path). Returns the MeasureReport (validated with R4B).
    Raises :class:`fhir_ops.errors.BadRequest` / ``NotFound`` for bad input,
    ``BusinessRuleViolation`` when the Measure's logic cannot be loaded or evaluated, and
    ``ServiceUnavailable`` (503) when the evaluation runs past ``MEDQC_CQL_TIMEOUT_S``.
    """
    if subject is not None and not subject.strip():
        subject = None
    fhir_type = resolve_report_type(report_type, subject)
    measure = await load_measure(repo, measure_id=measure_id, measure_url=measure_url)
    period = parse_period(period_start, period_end, default=measure.get("effectivePeriod"))
    prepared = await build_measure_bundle(repo, measure, engine=cql)
    by_candidates = subject is None and candidates is not None
    patient_ids = list(candidates or []) if by_candidates else await subject_patient_ids(repo, subject)
    report_subject = subject if fhir_type == "individual" else None
    if report_subject and "/" not in report_subject:
        report_subject = f"Patient/{report_subject}"
    tally = ReportTally(measure, fhir_type)
    await run_measure(
        repo,
        prepared,
        patient_ids,
        tally,
        period=period,
        include_evaluated=fhir_type == "individual",
        cql=cql,
        engine=engine,
        chunk=chunk,
        skip_missing=by_candidates,
    )
    return tallied_report(tally, period=period, subject=report_subject, warnings=prepared.warnings)


async def run_measure(
    repo: ResourceRepository,
    prepared: MeasureBundle,
    patient_ids: list[str],
    tally: ReportTally,
    *,
    period: Period,
    include_evaluated: bool,
    cql: CqlEngine,
    engine: Engine = "prepared",
    chunk: int = CHUNK,
    skip_missing: bool = False,
) -> None:
    """The engine's results for ``patient_ids`` added to ``tally``, gathered and evaluated ``chunk``
    patients at a time (the next chunk is gathered from the store while the engine, another process,
    evaluates this one): memory follows the chunk and the report, not the population."""
    measure_id = prepared.measure.get("id")
    chunks = stream_bundles(repo, patient_ids, prepared.data_types, chunk=chunk, skip_missing=skip_missing)
    pending: asyncio.Future[list[dict[str, Any]] | None] = asyncio.ensure_future(anext(chunks, None))
    try:
        while (bundles := await pending) is not None:
            pending = asyncio.ensure_future(anext(chunks, None))
            try:
                results = await calculate_measure(
                    prepared.bundle,
                    bundles,
                    period_start=period.fqm_start(),
                    period_end=period.fqm_end(),
                    include_evaluated=include_evaluated,
                    measure_key=prepared.key,
                    engine=engine,
                    cql=cql,
                )
            except CqlCalculationError as exc:
                raise BusinessRuleViolation(f"Measure/{measure_id}: {exc.describe()}") from exc
            except (CqlTimeoutError, CqlBusyError) as exc:
                raise ServiceUnavailable(f"Measure/{measure_id}: {exc.describe()}") from exc
            tally.add(results)
    finally:
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, FhirError):
                await pending
        await chunks.aclose()
