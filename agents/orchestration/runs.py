"""The runs as the callers see them: the hook's evaluator and the operations' entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.orchestration.runner import Orchestrator
from agents.orchestration.steps import record_inputs
from agents.population import JudgeStats
from fhir_ops.data_access.record import EncounterRecord
from measures.catalog.schema import IndicatorSpec


async def encounter_discharge(
    orchestrator: Orchestrator,
    record: EncounterRecord,
    *,
    inline_diseases: int = 0,
    inline_note_chars: int = 0,
) -> dict[str, Any]:
    """The hook's judgement (fast policy, on its budget: the indicators of the first ``inline_diseases``
    diseases, 0 = all, read from the latest notes up to ``inline_note_chars`` characters, 0 = all; what it
    does not settle comes back as pending reports); storing, the deferred indicators and refinement are
    handed to the run's workflow."""
    stored = bool((record.encounter or {}).get("id"))
    inputs = record_inputs(record, inline_diseases=inline_diseases, inline_note_chars=inline_note_chars)
    outputs = await orchestrator.run("encounter-discharge", inputs, record=record, stored=stored)
    answer: dict[str, Any] = outputs.get("answer") or outputs["reports"]
    return answer


async def qc_evaluate(
    orchestrator: Orchestrator,
    record: EncounterRecord,
    *,
    measures: list[IndicatorSpec] | None,
    denominator_asserted: bool,
    stored: bool,
) -> dict[str, Any]:
    """``$qc-evaluate``'s Bundle of MeasureReports (kept when ``stored``)."""
    inputs = record_inputs(
        record,
        measures=[m.id for m in measures] if measures is not None else None,
        asserted=denominator_asserted,
    )
    outputs = await orchestrator.run("qc-evaluate", inputs, record=record, stored=stored)
    reports: dict[str, Any] = outputs["reports"]
    return reports


async def population_rating(
    orchestrator: Orchestrator, specs: list[IndicatorSpec], *, start: datetime, end: datetime
) -> JudgeStats:
    """Make the period's fact Observations current before a rating (agents.population.judge_period)."""
    inputs = {"measures": [s.id for s in specs], "start": start.isoformat(), "end": end.isoformat()}
    outputs = await orchestrator.run("population-rating", inputs)
    return JudgeStats(**outputs["judge-period"])


async def cdi_review(orchestrator: Orchestrator, record: EncounterRecord) -> list[dict[str, Any]]:
    outputs = await orchestrator.run("cdi-review", record_inputs(record), record=record)
    gaps: list[dict[str, Any]] = outputs["gaps"]
    return gaps


async def icd_suggest(orchestrator: Orchestrator, record: EncounterRecord) -> dict[str, Any]:
    outputs = await orchestrator.run("icd-suggest", record_inputs(record), record=record)
    codes: dict[str, Any] = outputs["codes"]
    return codes
