"""Plan and send a period's summary reports: what would be sent (with the diff against the last accepted
submission and the needs-review flags), then, after a person's sign-off, the sending and the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_ops.store.protocol import ResourceRepository
from measures.engine import CqlEngine
from measures.library_content import cql_of
from measures.reporting.client import PlatformAnswer, PlatformClient, Via
from measures.reporting.diff import report_diff
from measures.reporting.identity import content_digest
from measures.reporting.ledger import Ledger, Submission
from measures.reporting.summary import BeforeRating, SummaryReport, summary_report

#: At most this many Measures are considered when none is named (one search page).
MAX_MEASURES = 1000


@dataclass(frozen=True, slots=True)
class PlannedReport:
    summary: SummaryReport
    digest: str
    previous: Submission | None
    diff: list[str]

    @property
    def changed(self) -> bool:
        return self.previous is None or self.previous.digest != self.digest


@dataclass(frozen=True, slots=True)
class SentReport:
    planned: PlannedReport
    answer: PlatformAnswer
    entry: Submission


async def reportable_measures(repo: ResourceRepository) -> list[str]:
    """Ids of the active Measures whose logic Library carries CQL (what ``$evaluate-measure`` runs)."""
    found = await repo.search("Measure", [("status", "active"), ("_count", str(MAX_MEASURES))])
    ids: list[str] = []
    has_cql: dict[str, bool] = {}  # many Measures share one Library
    for measure in found.matches:
        library = next(iter(measure.get("library") or []), None)
        if not library:
            continue
        if library not in has_cql:
            url, _, version = str(library).partition("|")
            params = [("url", url)] + ([("version", version)] if version else [])
            libraries = (await repo.search("Library", params)).matches
            has_cql[library] = bool(libraries) and cql_of(libraries[0]) is not None
        if has_cql[library]:
            ids.append(str(measure["id"]))
    return sorted(ids)


async def plan_reports(
    repo: ResourceRepository,
    ledger: Ledger,
    *,
    platform: str,
    measure_ids: list[str],
    period_start: str,
    period_end: str,
    reporter: str,
    cql: CqlEngine,
    before_rating: BeforeRating,
) -> list[PlannedReport]:
    """The summary report of each measure, its digest, and its diff against the last accepted one."""
    planned = []
    for measure_id in measure_ids:
        summary = await summary_report(
            repo,
            measure_id=measure_id,
            period_start=period_start,
            period_end=period_end,
            reporter=reporter,
            cql=cql,
            before_rating=before_rating,
        )
        previous = await ledger.last_accepted(platform=platform, report_id=str(summary.report["id"]))
        planned.append(
            PlannedReport(
                summary=summary,
                digest=content_digest(summary.report),
                previous=previous,
                diff=report_diff(previous.report if previous else None, summary.report),
            )
        )
    return planned


async def send_reports(
    client: PlatformClient,
    ledger: Ledger,
    planned: list[PlannedReport],
    *,
    approved_by: str,
    via: Via = "submit-data",
) -> list[SentReport]:
    """Send each report and record every attempt's outcome (accepted, rejected or failed) in the ledger."""
    sent = []
    for item in planned:
        answer = await client.submit(item.summary.measure_id, item.summary.report, via=via)
        entry = await ledger.record(
            platform=client.base_url,
            measure_id=item.summary.measure_id,
            report_key=item.summary.key,
            report=item.summary.report,
            digest=item.digest,
            outcome=answer.outcome,
            http_status=answer.http_status,
            platform_result=answer.result,
            attempts=answer.attempts,
            approved_by=approved_by,
            response=_without_secrets(answer.response),
        )
        sent.append(SentReport(planned=item, answer=answer, entry=entry))
    return sent


def _without_secrets(response: dict[str, Any] | None) -> dict[str, Any] | None:
    """The platform's answer as recorded: only FHIR resources are kept (never a token body)."""
    if response is None or not isinstance(response.get("resourceType"), str):
        return None
    return response
