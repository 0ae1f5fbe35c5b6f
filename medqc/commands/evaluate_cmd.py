"""``medqc evaluate``: an indicator's rate for a period, as ``$evaluate-measure`` computes it.

Runs in this process on the configured database (``MEDQC_DATABASE_URL``; a running server may share
it): the period's never-judged encounters are judged first (progress bar), then the indicator's CQL runs
over the population (``measures.evaluate.evaluate_measure``, reportType population). ``--chart`` and
``--html`` add one evaluation per month of the period.

    medqc evaluate --measure af-thromboembolism-risk --period 2026-07-01/2026-12-31 --chart rates.svg
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medqc.charts import MonthRate, RateSeries, html_report, write_chart
from medqc.report_view import rate_of
from medqc.settings import get_settings

if TYPE_CHECKING:
    from measures.period import Period
    from medqc.services import Services

IDENTIFIER_SYSTEM = "urn:cmqcic:indicator"
#: The most months one chart shows.
MAX_MONTHS = 60


def months_of(start: datetime, end: datetime) -> list[tuple[str, str]]:
    """The calendar months the period touches, each as (first day, last day) clipped to the period.

    >>> months_of(datetime(2026, 11, 15, tzinfo=UTC), datetime(2027, 1, 10, tzinfo=UTC))
    [('2026-11-15', '2026-11-30'), ('2026-12-01', '2026-12-31'), ('2027-01-01', '2027-01-10')]
    """
    out: list[tuple[str, str]] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month) and len(out) < MAX_MONTHS:
        following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        first = max(start.date(), datetime(year, month, 1, tzinfo=UTC).date())
        last = min(end.date(), following.date().fromordinal(following.date().toordinal() - 1))
        out.append((first.isoformat(), last.isoformat()))
        year, month = following.year, following.month
    return out


async def resolve_measure(services: Services, measure: str) -> dict[str, Any]:
    """A Measure by id, or by CMQCIC key (``urn:cmqcic:indicator|<key>``, the system optional)."""
    from fhir_ops.errors import FhirError, NotFound

    try:
        return await services.repo.read("Measure", measure)
    except FhirError:
        pass
    key = measure.removeprefix(f"{IDENTIFIER_SYSTEM}|")
    found = await services.repo.search("Measure", [("identifier", f"{IDENTIFIER_SYSTEM}|{key}")])
    if not found.matches:
        raise NotFound(f"no Measure with id or CMQCIC key '{measure}' (see `medqc catalog list`)")
    return found.matches[0]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


async def _judge(
    services: Services, measure: dict[str, Any], start: datetime, end: datetime, console: Console
) -> None:
    """What ``$evaluate-measure`` does first (``Services.before_rating``), with a progress bar."""
    from agents.population import judge_period
    from measures.catalog.evaluation import catalog_indicator, disease_of

    spec = catalog_indicator(measure)
    if spec is None:
        return
    with _progress(console) as progress:
        task = progress.add_task("判定本期未判定的病历", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        stats = await judge_period(
            source=services.data_source,
            repo=services.repo,
            specs=list(disease_of(spec).indicators),
            policy=services.policy(),
            start=start,
            end=end,
            progress=advance,
        )
    console.print(
        f"本期出院病历 {stats.encounters} 份：新判定 {stats.judged}，已是最新 {stats.current}"
        + (f"，失败 {stats.failed}" if stats.failed else "")
    )


async def _population(services: Services, measure_id: str, start: str, end: str) -> dict[str, Any]:
    """The population report, over the patients of the period's encounters (as ``$evaluate-measure``
    rates a catalog indicator)."""
    from agents.population import patients_of, period_encounters
    from measures.evaluate import evaluate_measure
    from measures.period import parse_period

    period = parse_period(start, end)
    candidates = patients_of(await period_encounters(services.data_source, period.start, period.end))
    return await evaluate_measure(
        services.repo,
        measure_id=measure_id,
        period_start=start,
        period_end=end,
        report_type="population",
        subject=None,
        cql=services.cql,
        candidates=candidates,
    )


def period_option(period: str, console: Console) -> Period | None:
    """``--period START/END`` as a Period; None (after saying why) when it does not parse."""
    from fhir_ops.errors import FhirError
    from measures.period import parse_period

    start_text, _, end_text = period.partition("/")
    try:
        return parse_period(start_text, end_text)
    except FhirError as exc:
        console.print(
            f"--period {period}: {exc.diagnostics} (expected START/END, e.g. 2026-01-01/2026-06-30)"
        )
        return None


async def evaluate(
    measure_ref: str, period: str, chart: Path | None, html_out: Path | None, console: Console
) -> int:
    from fhir_ops.errors import FhirError
    from medqc.services import build_services

    start_text, _, end_text = period.partition("/")
    bounds = period_option(period, console)
    if bounds is None:
        return 2
    services = await build_services(get_settings())
    try:
        try:
            measure = await resolve_measure(services, measure_ref)
        except FhirError as exc:
            console.print(str(exc.diagnostics))
            return 2
        measure_id = str(measure["id"])
        await _judge(services, measure, bounds.start, bounds.end, console)
        total = rate_of(await _population(services, measure_id, start_text, end_text))
        console.print(
            f"[bold]{measure.get('title', measure_id)}[/]（Measure/{measure_id}）{start_text} 至 {end_text}\n"
            f"  分子 {total.numerator} / 分母 {total.denominator}  率 {total.percent()}"
            f"  待复核 {total.needs_review}"
        )
        if chart is None and html_out is None:
            return 0
        months: list[MonthRate] = []
        spans = months_of(bounds.start, bounds.end)
        with _progress(console) as progress:
            task = progress.add_task("逐月统计", total=len(spans))
            for first, last in spans:
                months.append(
                    MonthRate(first[:7], rate_of(await _population(services, measure_id, first, last)))
                )
                progress.advance(task)
        series = RateSeries(
            title=str(measure.get("title") or measure_id),
            measure_id=measure_id,
            period=f"{start_text}/{end_text}",
            total=total,
            months=months,
        )
        if chart is not None:
            try:
                write_chart(series, chart)
            except (ValueError, RuntimeError) as exc:
                console.print(str(exc))
                return 2
            console.print(f"  图：{chart}")
        if html_out is not None:
            html_out.write_text(html_report(series), encoding="utf-8")
            console.print(f"  报告：{html_out}")
        return 0
    finally:
        await services.close()


def evaluate_command(
    measure: Annotated[str, typer.Option(help="the Measure id (af-bleeding-risk) or CMQCIC indicator key")],
    period: Annotated[str, typer.Option(help="START/END, FHIR dates: 2026-01-01/2026-06-30, 2026/2026")],
    chart: Annotated[Path | None, typer.Option(help="write the rates per month: out.svg or out.png")] = None,
    html: Annotated[Path | None, typer.Option(help="write a one-page HTML report with the chart")] = None,
) -> None:
    """An indicator's rate for a period (numerator, denominator, needs review), as $evaluate-measure."""
    raise typer.Exit(asyncio.run(evaluate(measure, period, chart, html, Console(highlight=False))))
