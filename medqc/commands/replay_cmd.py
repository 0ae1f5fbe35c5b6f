"""``medqc replay TRACE_ID``: re-run the recorded runs of a trace and print the differences.

Exit status: 0 every output identical, 1 some output differs (or a step failed), 2 no run has that trace id.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from medqc.settings import get_settings


def replay(
    trace_id: Annotated[str, typer.Argument(help="the run's trace id (the caller's traceparent trace-id)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Re-run a recorded run on its recorded inputs and show what differs (regression check of a new
    lexicon, prompt or code version)."""
    from agents.orchestration.replay import render, replay_trace
    from medqc.services import build_services

    async def run() -> int:
        services = await build_services(get_settings(), seed=False)
        try:
            replays = await replay_trace(services, services.orchestrator.audit, trace_id.strip().lower())
        finally:
            await services.close()
        if replays is None:
            typer.echo(f"no recorded run has trace id {trace_id}", err=True)
            return 2
        if as_json:
            typer.echo(
                json.dumps(
                    [
                        {
                            "run": r.run.run_id,
                            "kind": r.run.kind,
                            "identical": r.identical,
                            "versions": {k: list(v) for k, v in r.changed_versions().items()},
                            "steps": [
                                {
                                    "step": s.step,
                                    "verdict": s.verdict,
                                    "differences": s.differences,
                                    "note": s.note,
                                }
                                for s in r.steps
                            ],
                        }
                        for r in replays
                    ],
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            typer.echo(render(replays))
        return 0 if all(r.identical for r in replays) else 1

    raise typer.Exit(asyncio.run(run()))
