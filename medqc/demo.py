"""``medqc demo``: start the service on a free local port and show what it answers, over real HTTP.

Loads the Synthea bundles and a Chinese atrial-fibrillation inpatient record, lists patients and
encounters, fires the CDS Hooks ``encounter-discharge`` hook for the AF patient (signed client JWT), runs
``$qc-evaluate`` on that encounter, and computes a structured indicator for the whole population.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import typer
import uvicorn

from cds_services.client_token import ClientIssuer
from medqc.loader import as_transaction, iter_files, read_resources
from medqc.settings import Settings, get_settings

DEMO_RECORD = Path(__file__).parent / "demo_data" / "af-inpatient.json"
DEMO_ISSUER = "urn:medqc:demo-ehr"
AF_PATIENT, AF_ENCOUNTER = "demo-af-patient", "demo-af-encounter"


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[str]:
    """Serve MedQC with ``settings`` on a free loopback port for the block; yields its base URL."""
    from medqc.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=int(settings.base_url.rsplit(":", 1)[1]),
            log_config=None,
            access_log=False,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield settings.base_url
    finally:
        server.should_exit = True
        await task


def _name(patient: dict[str, Any]) -> str:
    name = (patient.get("name") or [{}])[0]
    if name.get("text"):
        return str(name["text"])
    return " ".join([*(name.get("given") or []), name.get("family") or ""]).strip() or patient["id"]


def demo_settings(base: Settings, issuer: ClientIssuer, var: Path) -> Settings:
    port = free_port()
    update: dict[str, Any] = {"base_url": f"http://127.0.0.1:{port}"}
    if base.cds_auth == "on" and base.cds_issuers.strip() in {"", "{}"}:
        jwks = issuer.write_jwks(var / "demo-ehr-jwks.json")
        update["cds_issuers"] = json.dumps({issuer.issuer: str(jwks)})
    return base.model_copy(update=update)


async def run_demo(data: Path) -> int:
    base_settings = get_settings()
    issuer = ClientIssuer.generate(DEMO_ISSUER)
    settings = demo_settings(base_settings, issuer, Path("var"))
    if settings.cds_auth == "off":
        typer.secho(
            "\n!!! WARNING: CDS Hooks authentication is OFF (MEDQC_CDS_AUTH=off). Any caller can use "
            "the hook service. Use this for local development only. !!!\n",
            fg=typer.colors.RED,
            bold=True,
        )
    files = [*iter_files([data])] if data.exists() else []
    async with running_server(settings) as base, httpx.AsyncClient(timeout=120) as http:
        typer.echo(f"MedQC is serving on {base}  (database {settings.database_url.split('@')[-1]})")
        for path in [*files, DEMO_RECORD]:
            response = await http.post(f"{base}/fhir", json=as_transaction(read_resources(path)))
            response.raise_for_status()
            typer.echo(f"  loaded {path.name}: {len(response.json().get('entry', []))} resources")
        await _patients(http, base)
        await _discharge_hook(http, base, issuer if settings.cds_auth == "on" else None)
        await _qc_evaluate(http, base)
        await _population(http, base)
    return 0


async def _patients(http: httpx.AsyncClient, base: str) -> None:
    patients = (await http.get(f"{base}/fhir/Patient", params={"_count": "100", "_sort": "_id"})).json()
    typer.echo(f"\n{patients['total']} patients")
    for entry in patients.get("entry", []):
        patient = entry["resource"]
        pid = patient["id"]
        counts = []
        for rtype in ("Encounter", "Condition", "DocumentReference"):
            found = await http.get(f"{base}/fhir/{rtype}", params={"patient": pid, "_summary": "count"})
            counts.append(found.json()["total"])
        typer.echo(
            f"  {_name(patient):<30} Patient/{pid:<38} encounters={counts[0]:<4} conditions={counts[1]:<4}"
            f" notes={counts[2]}"
        )


async def _discharge_hook(http: httpx.AsyncClient, base: str, issuer: ClientIssuer | None) -> None:
    url = f"{base}/cds-services/medqc-discharge-qc"
    typer.echo(f"\nCDS Hooks encounter-discharge for Patient/{AF_PATIENT} (atrial fibrillation) → POST {url}")
    body = {
        "hook": "encounter-discharge",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/demo-doctor",
            "patientId": AF_PATIENT,
            "encounterId": AF_ENCOUNTER,
        },
    }
    headers = issuer.headers(url) if issuer else {}
    response = await http.post(url, json=body, headers=headers)
    typer.echo(f"  HTTP {response.status_code}")
    for card in response.json().get("cards", []):
        typer.secho(f"\n  [{card['indicator'].upper()}] {card['summary']}", bold=True)
        for line in card.get("detail", "").splitlines():
            typer.echo(f"    {line}")
        for suggestion in card.get("suggestions", []):
            typer.echo(f"    → suggestion: {suggestion['label']}")
        for link in card.get("links", []):
            typer.echo(f"    → {link['label']}: {link['url']}")


async def _qc_evaluate(http: httpx.AsyncClient, base: str) -> None:
    url = f"{base}/fhir/Encounter/{AF_ENCOUNTER}/$qc-evaluate"
    typer.echo(f"\n$qc-evaluate → POST {url}")
    bundle = (await http.post(url, json={"resourceType": "Parameters"})).json()
    for entry in bundle.get("entry", []):
        report = entry["resource"]
        counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
        review = any(
            e.get("valueBoolean")
            for e in report["group"][0].get("extension", [])
            if e["url"].endswith("needs-review")
        )
        verdict = "met" if counts.get("numerator") else ("needs review" if review else "NOT met")
        typer.echo(f"  {report['measure'].split('/')[-1]:<48} {verdict}")


async def _population(http: httpx.AsyncClient, base: str) -> None:
    measures = (await http.get(f"{base}/fhir/Measure", params={"name": "MedQCAFBleedingRisk"})).json()
    if not measures.get("entry"):
        return
    measure = measures["entry"][0]["resource"]
    url = f"{base}/fhir/Measure/{measure['id']}/$evaluate-measure"
    typer.echo(f"\n$evaluate-measure (CQL, population) → GET {url}?periodStart=2000&periodEnd=2026")
    report = (await http.get(url, params={"periodStart": "2000", "periodEnd": "2026"})).json()
    if report.get("resourceType") != "MeasureReport":
        typer.echo(f"  {json.dumps(report, ensure_ascii=False)[:300]}")
        return
    group = report["group"][0]
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}
    score = (group.get("measureScore") or {}).get("value")
    typer.echo(f"  {measure.get('title', measure['id'])}: {counts}  score={score}")
