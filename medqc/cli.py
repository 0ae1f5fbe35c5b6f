"""The ``medqc`` command line."""

from __future__ import annotations

import asyncio
import json
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer

from medqc.settings import get_settings

app = typer.Typer(help="MedQC: FHIR-native medical quality control.", no_args_is_help=True)

DEMO_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fhir" / "synthea"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    temporal: Annotated[
        bool, typer.Option(help="without MEDQC_TEMPORAL_ADDRESS, start and supervise a Temporal dev server")
    ] = True,
) -> None:
    """Run the HTTP service (FHIR facade, operations, CDS Hooks)."""
    import uvicorn

    from agents.orchestration.versions import VersionPinMismatch, check_pins, current_versions
    from medqc.app import create_app

    settings = get_settings()
    try:
        check_pins(settings.version_pins, current_versions())
    except VersionPinMismatch as exc:
        typer.echo(f"medqc serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    if temporal and settings.temporal_address is None:
        settings = settings.model_copy(update={"temporal_dev_server": True})
    if "base_url" not in settings.model_fields_set:
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
        derived = f"http://{shown}:{port}"
        typer.echo(
            f"MEDQC_BASE_URL is not set: links use {derived}; CDS JWTs may name the URL the client called. "
            "Set MEDQC_BASE_URL to the public URL in production.",
            err=True,
        )
        settings = settings.model_copy(update={"base_url": derived, "cds_audience_from_request": True})
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


def _register_load() -> None:
    from medqc.commands.load_cmd import load_command

    app.command("load")(load_command)


_register_load()


@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="Folder of demo FHIR bundles")] = DEMO_DATA,
) -> None:
    """Load the demo data and print what the service answers."""
    from medqc.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo(data)))


@app.command()
def versions() -> None:
    """Print the versions of the knowledge base, prompts, templates and code this build judges with (the
    values MEDQC_PIN_KB / MEDQC_PIN_PROMPTS / MEDQC_PIN_TEMPLATES take) and whether the pins hold."""
    from agents.orchestration.versions import current_versions, pin_mismatch

    current = current_versions()
    pins = get_settings().version_pins
    problem = pin_mismatch(pins, current)
    typer.echo(json.dumps({"versions": current.as_dict(), "pins": pins, "mismatch": problem}, indent=2))
    if problem:
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    from medqc.services import build_services

    async def run() -> None:
        services = await build_services(get_settings(), seed=False)
        await services.close()

    asyncio.run(run())
    typer.echo(json.dumps({"database": get_settings().database_url.split("@")[-1], "status": "migrated"}))


def _register_token_and_evaluate() -> None:
    from medqc.commands.evaluate_cmd import evaluate_command
    from medqc.commands.token_cmd import token_command

    app.command("token")(token_command)
    app.command("evaluate")(evaluate_command)


_register_token_and_evaluate()


def _register_eval() -> None:
    from medqc.commands.eval_cmd import eval_command
    from medqc.commands.eval_docs import eval_app

    app.add_typer(eval_app(eval_command), name="eval")


_register_eval()


def _register_report() -> None:
    from medqc.commands.report_cmd import report_app

    app.add_typer(report_app, name="report")


_register_report()


def _register_replay() -> None:
    from medqc.commands.replay_cmd import replay

    app.command()(replay)


_register_replay()


def _register_worker() -> None:
    from medqc.commands.worker_cmd import worker

    app.command()(worker)


_register_worker()
app.add_typer(import_module("medqc.commands.population_cmd").population_app, name="population")

catalog_app = typer.Typer(help="The built-in indicator catalog.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("list")
def catalog_list(
    disease: Annotated[str | None, typer.Option(help="only this disease slug (e.g. af, stemi)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the catalog's indicators: Measure id, version, core flag, disease and CMQCIC key."""
    from measures.catalog.measures import catalog_rows

    rows = [r for r in catalog_rows() if disease is None or r["disease"] == disease]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['id']:<40} {row['version']:<7} {row['core']:<5} {row['disease']:<11} {row['key']}")
    typer.echo(f"{len(rows)} indicators")


@catalog_app.command("generate")
def catalog_generate() -> None:
    """Rewrite the golden copy of the generated artefacts (measures/catalog/generated/): review the diff."""
    from measures.catalog.package import write_golden

    written = write_golden()
    typer.echo(f"{len(written)} files written to measures/catalog/generated/")


@catalog_app.command("export")
def catalog_export(
    directory: Annotated[Path, typer.Argument(help="where to write the FHIR package folder")],
    elm: Annotated[bool, typer.Option(help="translate the CQL and include the ELM (needs node)")] = True,
) -> None:
    """Write the catalog as a FHIR package (package.json + Measures, Libraries, ValueSets, CodeSystems)."""
    from measures.catalog.evaluation import CatalogEngine
    from measures.catalog.package import export_package
    from measures.engine import CqlEngine

    async def translated() -> dict[str, dict[str, Any]]:
        cql = CqlEngine.from_settings(get_settings())
        try:
            return await CatalogEngine(cql).library_elm()
        finally:
            await cql.close()

    written = export_package(directory, asyncio.run(translated()) if elm else None)
    typer.echo(f"{len(written)} files written to {directory / 'package'}")


kb_app = typer.Typer(help="The knowledge base (retrieval index for the language-model verifier).")
app.add_typer(kb_app, name="kb")


@kb_app.command("build")
def kb_build() -> None:
    """Rebuild the retrieval index (indicator definitions, guideline passages, ICD-10 names)."""
    from rich.console import Console

    from knowledge_base.retrieval.index import build_index

    settings = get_settings()
    with Console(stderr=True).status(f"building the retrieval index in {settings.kb_dir}…"):
        index = build_index(Path(settings.kb_dir))
    typer.echo(json.dumps({"directory": settings.kb_dir, "version": index.version}))
