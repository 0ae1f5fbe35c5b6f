"""Every step of a run is recorded (append-only, with versions) and exported as a span; `medqc replay`
reproduces a recorded run (exit 0), shows what a lexicon change alters (exit 1) and knows no unknown
trace (exit 2)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from agents.lexical.limits import NoteTooLarge
from agents.orchestration.runs import cdi_review, qc_evaluate
from agents.orchestration.telemetry import StepTelemetry, tracer_provider
from agents.orchestration.versions import current_versions
from fhir_ops.tracing import trace_id_var
from medqc.services import Services, build_services
from tests.conftest import BACKENDS, make_settings
from tests.orchestration.conftest import TRACE, af_record

ROOT = Path(__file__).resolve().parents[2]


async def _record_qc_run(services: Services, trace: str = TRACE) -> dict[str, object]:
    token = trace_id_var.set(trace)
    try:
        return await qc_evaluate(
            services.orchestrator, af_record(), measures=None, denominator_asserted=False, stored=True
        )
    finally:
        trace_id_var.reset(token)


async def test_a_run_records_every_step_with_its_versions(services: Services) -> None:
    exporter = InMemorySpanExporter()
    services.orchestrator.telemetry = StepTelemetry(tracer_provider(None, exporter=exporter))
    bundle = await _record_qc_run(services)
    assert bundle["entry"], "the AF stay is judged"
    runs = await services.orchestrator.audit.runs_of_trace(TRACE)
    assert [r.kind for r in runs] == ["qc-evaluate"]
    run = runs[0]
    assert run.versions == current_versions().as_dict()
    steps = await services.orchestrator.audit.steps(run.run_id)
    assert [s.step for s in steps] == ["context", "facts", "rules", "reports", "store"]
    assert {s.status for s in steps} == {"ok"}
    assert all(s.kb_version.startswith("kb+") and s.code_version and len(s.input_digest) == 32 for s in steps)
    assert steps[-1].output["written"], "the reports were stored"
    stored = await services.repo.search("MeasureReport", [("evaluated-resource", "Encounter/e-orch")])
    assert stored.total == len(bundle["entry"])
    services.orchestrator.telemetry.shutdown()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == [f"qc-evaluate/{s.step}" for s in steps]
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE}
    assert all("note" not in str(dict(s.attributes or {})) for s in spans)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_audit_is_append_only(backend: str, tmp_path: Path) -> None:
    settings = make_settings(backend, tmp_path)  # PostgreSQL: a fresh schema

    async def check() -> None:
        services = await build_services(settings, seed=False)
        try:
            await _refuses_changes(services)
        finally:
            await services.close()

    asyncio.run(check())


async def _refuses_changes(services: Services) -> None:
    await cdi_review(services.orchestrator, af_record())
    for statement in (
        "UPDATE audit_steps SET status = 'ok'",
        "DELETE FROM audit_steps",
        "DELETE FROM audit_runs",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with services.db.session() as session, session.begin():
                await session.execute(text(statement))


def _replay(trace: str, db_url: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``medqc replay`` in a child process; with ``pythonpath`` its packages are imported from there first."""
    env = {
        **os.environ,
        "MEDQC_DATABASE_URL": db_url,
        "MEDQC_LOG_LEVEL": "WARNING",
        "MEDQC_ELM_CACHE_DIR": str(ROOT / "var" / "elm-cache"),
    }
    env.pop("MEDQC_LLM_BASE_URL", None)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", "from medqc.cli import app; app()", "replay", trace],
        cwd=pythonpath or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.slow
async def test_replay_is_identical_then_shows_a_lexicon_change(
    services: Services, db_url: str, tmp_path: Path
) -> None:
    await _record_qc_run(services)
    await services.close()

    same = _replay(TRACE, db_url)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "identical" in same.stdout
    assert "DIFFERS" not in same.stdout

    assert _replay("0" * 31 + "1", db_url).returncode == 2

    # A temporary copy of the code and knowledge base with one lexicon entry changed: HAS-BLED unknown.
    src = tmp_path / "src"
    for package in ("agents", "knowledge_base"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    lexicon = src / "knowledge_base" / "lexicons" / "af.yaml"
    lines = lexicon.read_text(encoding="utf-8").splitlines()
    at = lines.index("  has_bled:")
    lines[at + 1] = "    terms: [并无此词]"
    lexicon.write_text("\n".join(lines) + "\n", encoding="utf-8")
    changed = _replay(TRACE, db_url, pythonpath=src)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "DIFFERS" in changed.stdout
    assert "version kb:" in changed.stdout  # why: the knowledge base changed
    facts_line = next(line for line in changed.stdout.splitlines() if line.strip().startswith("facts"))
    assert "differs" in facts_line
    assert "writes the store: not re-run" in changed.stdout


async def test_an_oversized_note_is_refused_before_any_durable_step(services: Services) -> None:
    services.orchestrator.max_note_bytes = 8
    with pytest.raises(NoteTooLarge) as refused:
        await _record_qc_run(services, trace="5" * 32)
    assert refused.value.status == 400
    (run,) = await services.orchestrator.audit.runs_of_trace("5" * 32)
    assert [(s.step, s.status, s.error) for s in await services.orchestrator.audit.steps(run.run_id)] == [
        ("context", "failed", "NoteTooLarge")
    ]
    assert await services.orchestrator.audit.pending() == 0
