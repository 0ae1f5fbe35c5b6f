"""``medqc demo``: start the service on a free local port, load the demo data over HTTP, show answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import typer
import uvicorn

from medqc.loader import as_transaction, iter_files, read_resources
from medqc.settings import Settings, get_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[str]:
    """Serve MedQC on a free loopback port for the duration of the block; yields its base URL."""
    from medqc.app import create_app

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"base_url": base})
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        await task


def _name(patient: dict[str, Any]) -> str:
    name = (patient.get("name") or [{}])[0]
    return " ".join([*(name.get("given") or []), name.get("family") or ""]).strip() or patient["id"]


async def run_demo(data: Path) -> int:
    settings = get_settings()
    if not data.exists():
        typer.echo(f"demo data not found at {data}", err=True)
        return 2
    async with (
        running_server(settings) as base,
        httpx.AsyncClient(base_url=f"{base}/fhir", timeout=120) as fhir,
    ):
        typer.echo(f"MedQC is serving on {base}  (database {settings.database_url.split('@')[-1]})")
        for path in iter_files([data]):
            response = await fhir.post(f"{base}/fhir", json=as_transaction(read_resources(path)))
            response.raise_for_status()
            typer.echo(f"  loaded {path.name}: {len(response.json().get('entry', []))} resources")
        patients = (await fhir.get("/Patient", params={"_count": "100"})).json()
        typer.echo(f"\n{patients['total']} patients")
        for entry in patients.get("entry", []):
            patient = entry["resource"]
            pid = patient["id"]
            encounters = (await fhir.get("/Encounter", params={"patient": pid, "_summary": "count"})).json()
            notes = (
                await fhir.get("/DocumentReference", params={"patient": pid, "_summary": "count"})
            ).json()
            conditions = (await fhir.get("/Condition", params={"patient": pid, "_summary": "count"})).json()
            typer.echo(
                f"  {_name(patient):<32} Patient/{pid}  encounters={encounters['total']:<4}"
                f" conditions={conditions['total']:<4} notes={notes['total']}"
            )
    return 0
