"""``medqc load``: FHIR files into the store, started in well under a second.

Only the store is built (database, migrations, the repository and its Library write hook, whose CQL
engine starts Node only if a Library needs translating) — not the whole service graph — and the heavy
modules are imported inside the command, so ``python -m medqc load`` does not pay for the rest of the
CLI. Progress (files and resources stored) is shown on stderr.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer


def load_command(
    paths: Annotated[list[Path], typer.Argument(help="Bundle/resource files or folders")],
) -> None:
    """Load FHIR Bundles and resources (.json/.ndjson files, or folders of them) into the store."""
    raise typer.Exit(asyncio.run(_run(paths)))


async def _run(paths: list[Path]) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fhir_ops.store.database import Database
    from fhir_ops.store.sql_repository import SqlRepository
    from measures.engine import CqlEngine
    from measures.library_loader import library_write_hook
    from medqc.loader import load_paths
    from medqc.migrate import upgrade_to_head
    from medqc.settings import get_settings

    settings = get_settings()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("starting (database)", total=None)
        db = Database(settings.database_url, statement_timeout_s=settings.db_statement_timeout_s)
        cql = CqlEngine.from_settings(settings)
        try:
            await upgrade_to_head(db.engine)
            repo = SqlRepository(
                db, default_count=settings.page_size_default, max_count=settings.page_size_max
            )
            repo.write_hooks["Library"] = library_write_hook(repo, cql)

            def advance(done: int, total: int, stored: int) -> None:
                progress.update(task, description=f"files ({stored} resources)", completed=done, total=total)

            report = await load_paths(repo, paths, progress=advance, workers=settings.load_workers)
        finally:
            await cql.close()
            await db.dispose()
    typer.echo(f"loaded {report.resources} resources from {report.files} file(s)")
    for rtype, n in sorted(report.by_type.items()):
        typer.echo(f"  {rtype:<28} {n}")
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    return 1 if report.errors else 0
