"""``medqc report``: send a period's indicator rates to the regional platform, and show the ledger.

``medqc report submit --period 2024-01-01/2024-03-31 --to https://platform/fhir`` computes each
Measure's DEQM summary report, prints it as figures with the diff against the last submission the
platform accepted, flags results that need review, and sends only after a person's sign-off
(``--approve``, or answering the prompt). ``--dry-run`` shows and sends nothing.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from medqc.settings import Settings, get_settings

if TYPE_CHECKING:
    from measures.reporting.client import PlatformClient, Via
    from measures.reporting.submission import PlannedReport

report_app = typer.Typer(help="Regional reporting: DEQM summary reports to the regional platform.")

#: Exit codes: 0 all accepted (or a dry run), 1 something rejected or failed, 2 bad input, 3 not approved.
EXIT_NOT_SENT = 3


def split_period(text: str) -> tuple[str, str]:
    """``START/END`` (FHIR dates or partial dates) → the two bounds, checked.

    >>> split_period("2024-01-01/2024-03-31")
    ('2024-01-01', '2024-03-31')
    """
    from fhir_ops.errors import FhirError
    from measures.period import parse_period

    start, sep, end = text.partition("/")
    if not sep or not start.strip() or not end.strip():
        raise typer.BadParameter("use START/END, e.g. 2024-01-01/2024-03-31", param_hint="--period")
    try:
        parse_period(start.strip(), end.strip(), default=None)
    except FhirError as exc:
        raise typer.BadParameter(exc.diagnostics, param_hint="--period") from exc
    return start.strip(), end.strip()


def _client(settings: Settings, base_url: str, http: httpx.AsyncClient) -> PlatformClient:
    from pathlib import Path

    from measures.reporting.client import BackendServicesAuth, PlatformClient, load_private_key

    auth = None
    if settings.report_token_url:
        if not (settings.report_client_id and settings.report_client_key):
            raise typer.BadParameter(
                "MEDQC_REPORT_TOKEN_URL needs MEDQC_REPORT_CLIENT_ID and MEDQC_REPORT_CLIENT_KEY"
            )
        auth = BackendServicesAuth(
            token_url=settings.report_token_url,
            client_id=settings.report_client_id,
            key=load_private_key(Path(settings.report_client_key)),
            scope=settings.report_scope,
            http=http,
            timeout_s=settings.report_timeout_s,
        )
    return PlatformClient(
        base_url=base_url,
        http=http,
        auth=auth,
        static_token=settings.report_access_token,
        request_timeout_s=settings.report_timeout_s,
        deadline_s=settings.report_deadline_s,
        max_attempts=settings.report_max_attempts,
    )


async def _submit(
    settings: Settings,
    *,
    platform: str,
    measures: list[str],
    start: str,
    end: str,
    dry_run: bool,
    approve: bool,
    via: Via,
) -> int:
    from fhir_ops.errors import FhirError
    from measures.reporting.ledger import Ledger
    from measures.reporting.submission import plan_reports, reportable_measures, send_reports
    from medqc.services import build_services

    services = await build_services(settings, seed=False)
    try:
        ledger = Ledger(services.db)
        measure_ids = measures or await reportable_measures(services.repo)
        if not measure_ids:
            typer.echo("no reportable Measure (none whose Library has CQL)", err=True)
            return 2
        try:
            planned = await plan_reports(
                services.repo,
                ledger,
                platform=platform,
                measure_ids=measure_ids,
                period_start=start,
                period_end=end,
                reporter=settings.report_reporter,
                cql=services.cql,
                before_rating=services.before_rating,
            )
        except FhirError as exc:
            typer.echo(f"cannot compute the reports: {exc.diagnostics}", err=True)
            return 2
        for item in planned:
            _show(item)
        review = [p for p in planned if p.summary.needs_review]
        for item in review:
            typer.echo(f"NEEDS REVIEW: {item.summary.measure_id}: {item.summary.needs_review} result(s)")
        if dry_run:
            typer.echo(f"dry run: {len(planned)} report(s) for {platform}, nothing sent")
            return 0
        if not approve:
            if not sys.stdin.isatty() or not typer.confirm(f"Send {len(planned)} report(s) to {platform}?"):
                typer.echo("not sent: a person must approve the submission (--approve)", err=True)
                return EXIT_NOT_SENT
        async with httpx.AsyncClient(follow_redirects=False) as http:
            client = _client(settings, platform, http)
            sent = await send_reports(client, ledger, planned, approved_by=_person(), via=via)
        for done in sent:
            typer.echo(
                f"{done.entry.outcome:<8} {done.planned.summary.measure_id}: {done.answer.message} "
                f"(attempts {done.answer.attempts}, ledger #{done.entry.id})"
            )
        return 0 if all(s.answer.outcome == "accepted" for s in sent) else 1
    finally:
        await services.close()


def _person() -> str:
    """Who signed off (the login name; the numeric uid in a container without a passwd entry)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid:{os.getuid()}"


def _show(item: PlannedReport) -> None:
    summary = item.summary
    typer.echo(f"== {summary.measure_id}  {summary.report['measure']}  ({summary.report['id']})")
    for group in summary.report.get("group") or []:
        counts = {p["code"]["coding"][0]["code"]: p.get("count", 0) for p in group.get("population") or []}
        score = (group.get("measureScore") or {}).get("value")
        typer.echo(
            f"   {group.get('id')}: numerator {counts.get('numerator', 0)} / denominator "
            f"{counts.get('denominator', 0)}  score {score if score is not None else '-'}"
        )
    if not item.changed:
        typer.echo("   unchanged since the last accepted submission")
    for line in item.diff:
        typer.echo(f"   {line}")


@report_app.command("submit")
def submit(
    period: Annotated[str, typer.Option(help="START/END, e.g. 2024-01-01/2024-03-31")],
    to: Annotated[str, typer.Option(help="The platform's FHIR base URL")],
    measure: Annotated[
        list[str] | None, typer.Option(help="A Measure id (repeat; default: every Measure with CQL)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the reports and the diff; send nothing")
    ] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="The person's sign-off: send without asking")
    ] = False,
    via: Annotated[
        str, typer.Option(help="submit-data (DEQM $submit-data) or transaction (PUT MeasureReport/{id})")
    ] = "submit-data",
) -> None:
    """Compute the period's summary reports and submit them ($submit-data) to the platform."""
    start, end = split_period(period)
    if via not in ("submit-data", "transaction"):
        raise typer.BadParameter("submit-data or transaction", param_hint="--via")
    code = asyncio.run(
        _submit(
            get_settings(),
            platform=to.rstrip("/"),
            measures=list(measure or []),
            start=start,
            end=end,
            dry_run=dry_run,
            approve=approve,
            via="transaction" if via == "transaction" else "submit-data",
        )
    )
    raise typer.Exit(code)


@report_app.command("ledger")
def ledger(
    to: Annotated[str | None, typer.Option(help="Only this platform")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest entries to show")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The submission ledger: what was sent, when, the platform's answer and the content digest."""
    from fhir_ops.store.database import Database
    from measures.reporting.ledger import Ledger
    from medqc.migrate import upgrade_to_head

    async def run() -> list[dict[str, object]]:
        db = Database(get_settings().database_url)
        try:
            await upgrade_to_head(db.engine)
            entries = await Ledger(db).entries(platform=to.rstrip("/") if to else None, limit=limit)
        finally:
            await db.dispose()
        return [
            {
                "id": e.id,
                "submitted_at": e.submitted_at.isoformat(timespec="seconds"),
                "platform": e.platform,
                "measure": e.measure_id,
                "period": f"{e.period_start}/{e.period_end}",
                "outcome": e.outcome,
                "result": e.platform_result,
                "http_status": e.http_status,
                "attempts": e.attempts,
                "digest": e.digest,
                "approved_by": e.approved_by,
            }
            for e in entries
        ]

    rows = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        typer.echo(
            f"#{r['id']:<5} {r['submitted_at']}  {r['outcome']:<8} {r['result'] or '-':<9} "
            f"{r['http_status'] or '-':<4} {r['measure']:<36} {r['period']}  {str(r['digest'])[:12]}  "
            f"{r['platform']}"
        )
