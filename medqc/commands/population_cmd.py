"""``medqc population rate``: an indicator's rate for a period computed on Ray, partitioned by patient.

The same figures as ``medqc evaluate`` / ``$evaluate-measure`` (the period's never-judged encounters are
judged first, by the tasks), for populations too large for one process. Without ``--ray-address`` (or
``MEDQC_RAY_ADDRESS``) a local cluster of ``--workers`` CPUs is started for the run; every node of a real
cluster needs the repository installed, node on its PATH and the database (``MEDQC_DATABASE_URL``)
reachable.

    medqc population rate --measure stemi-reperfusion-24h --period 2026-01-01/2026-12-31 --workers 2
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medqc.report_view import rate_of
from medqc.settings import get_settings

population_app = typer.Typer(help="Population runs at hospital scale (Ray).", no_args_is_help=True)
#: The most local workers one run starts (a bound; a real cluster is joined with --ray-address).
MAX_LOCAL_WORKERS = 256


async def rate(
    measure_ref: str, period: str, workers: int, address: str | None, output: Path | None, console: Console
) -> int:
    from agents.scale.ray_run import rate_population
    from fhir_ops.errors import FhirError
    from medqc.commands.evaluate_cmd import period_option, resolve_measure
    from medqc.services import build_services

    start_text, _, end_text = period.partition("/")
    bounds = period_option(period, console)
    if bounds is None:
        return 2
    settings = get_settings()
    services = await build_services(settings)
    try:
        try:
            measure = await resolve_measure(services, measure_ref)
        except FhirError as exc:
            console.print(str(exc.diagnostics))
            return 2
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("分区判定与统计", total=None)
            try:
                run = await rate_population(
                    settings,
                    services.repo,
                    measure,
                    bounds,
                    workers=workers,
                    address=address or settings.ray_address,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            except FhirError as exc:
                console.print(str(exc.diagnostics))
                return 2
    finally:
        await services.close()
    total = rate_of(run.report)
    judged = sum(p.judged for p in run.partitions)
    title = measure.get("title", measure["id"])
    console.print(
        f"[bold]{title}[/]（Measure/{measure['id']}）{start_text} 至 {end_text}\n"
        f"  分子 {total.numerator} / 分母 {total.denominator}  率 {total.percent()}"
        f"  待复核 {total.needs_review}\n"
        f"  出院病历 {run.encounters} 份（新判定 {judged}），{len(run.partitions)} 个分区，"
        f"{run.seconds:.1f} 秒，{run.encounters / max(run.seconds, 1e-9):.2f} 份/秒"
    )
    if output is not None:
        output.write_text(json.dumps(run.report, ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"  MeasureReport：{output}")
    return 0


@population_app.command("rate")
def rate_command(
    measure: Annotated[
        str, typer.Option(help="the Measure id (stemi-reperfusion-24h) or CMQCIC indicator key")
    ],
    period: Annotated[str, typer.Option(help="START/END, FHIR dates: 2026-01-01/2026-12-31")],
    workers: Annotated[
        int,
        typer.Option(min=1, max=MAX_LOCAL_WORKERS, help="CPUs of the local cluster (tasks in flight: 2×)"),
    ] = 2,
    ray_address: Annotated[
        str | None, typer.Option(help="join this Ray cluster (default: MEDQC_RAY_ADDRESS, else a local one)")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="write the summary MeasureReport (JSON) here")] = None,
) -> None:
    """An indicator's rate for a period on Ray, partitioned by patient (= $evaluate-measure)."""
    raise typer.Exit(
        asyncio.run(rate(measure, period, workers, ray_address, output, Console(highlight=False)))
    )
