"""``medqc worker``: a Temporal worker of MedQC's durable steps, in a process of its own.

Deployed beside ``medqc serve`` (``MEDQC_TEMPORAL_WORKER=off`` there) to scale the background work —
model refinement, storing reports, population ratings — apart from the answers. ``medqc serve`` also
starts one itself by default, handing it its settings on stdin (``--settings-from-stdin``); that child
exits when the pipe closes, so it never outlives its parent.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Annotated

import typer

from medqc.settings import Settings, get_settings


def worker(
    settings_from_stdin: Annotated[
        bool, typer.Option(help="read the settings as JSON from the first line of stdin", hidden=True)
    ] = False,
) -> None:
    """Run a Temporal worker of the durable steps (needs MEDQC_TEMPORAL_ADDRESS and the database)."""
    from medqc.observability import configure_logging
    from medqc.temporal import run_worker

    settings = Settings.model_validate_json(sys.stdin.readline()) if settings_from_stdin else get_settings()
    if settings.temporal_address is None:
        typer.echo("medqc worker: set MEDQC_TEMPORAL_ADDRESS", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_level)

    async def run() -> None:
        until = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, until.set)
        if settings_from_stdin:  # the parent holds the pipe open: its end means the parent is gone
            loop.run_in_executor(None, sys.stdin.buffer.read).add_done_callback(lambda _: until.set())
        await run_worker(settings, until=until)

    asyncio.run(run())
