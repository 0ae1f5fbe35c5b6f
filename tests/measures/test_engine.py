"""The CQL layer: MedQC's System model info and FHIRHelpers translate and run; errors carry locations;
the worker is one process, restarted when it dies; ELM is cached by content."""

from __future__ import annotations

import base64
import os
import signal
from pathlib import Path

import pytest

from fhir_ops.errors import BusinessRuleViolation
from measures.engine import CqlEngine, CqlTranslationError, translate_cql
from measures.engine.elm_cache import elm_key
from measures.library_content import elm_of
from measures.library_loader import prepare_library
from medqc.settings import Settings

PROBE = """library Probe version '1.0.0'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers
context Patient
define "Female": Patient.gender = 'female'
define "Born": Patient.birthDate
define "Ratio": 1 'mg' / 2 'mg'
define "High": [Observation] O where (O.value as Quantity) > 20 '%'
define "Coded": [Condition] C where C.code ~ Code { code: 'I48.x01', system: 'x' }
"""


def _engine(cache_dir: Path | None) -> CqlEngine:
    return CqlEngine(node=None, timeout_s=120, elm_cache_dir=cache_dir, processes=1)


async def test_fhirhelpers_conversions_translate(tmp_path: Path) -> None:
    (lib,) = await translate_cql([PROBE], engine=_engine(tmp_path))
    assert lib.name == "Probe"
    assert not lib.fatal
    assert lib.elm is not None
    includes = lib.elm["library"]["includes"]["def"]
    assert includes[0]["path"] == "FHIRHelpers"
    text = str(lib.elm)
    for conversion in ("ToQuantity", "ToConcept", "ToString"):
        assert conversion in text


async def test_translation_errors_carry_line_and_column() -> None:
    bad = "library Bad version '1'\nusing FHIR version '4.0.1'\ndefine X: [Encounter] E where E.foo = 1\n"
    with pytest.raises(CqlTranslationError) as info:
        await translate_cql([bad], engine=_engine(None))
    assert info.value.library == "Bad"
    assert info.value.location == "3:33"
    assert info.value.issues[0].line == 3


async def test_prepare_library_adds_elm_or_refuses(cql: CqlEngine) -> None:
    library = {
        "resourceType": "Library",
        "id": "p",
        "status": "active",
        "type": {"coding": [{"code": "logic-library"}]},
        "content": [{"contentType": "text/cql", "data": base64.b64encode(PROBE.encode()).decode()}],
    }
    prepared = await prepare_library(library, engine=cql)
    elm = elm_of(prepared)
    assert elm is not None
    assert elm["library"]["identifier"]["id"] == "Probe"
    broken = {
        **library,
        "content": [
            {
                "contentType": "text/cql",
                "data": base64.b64encode(b"library B version '1'\ndefine X: 1 +").decode(),
            }
        ],
    }
    with pytest.raises(BusinessRuleViolation) as info:
        await prepare_library(broken, engine=cql)
    outcome = info.value.outcome()
    assert any("line 2" in " ".join(i.get("location", [])) for i in outcome["issue"])


async def test_elm_cache_is_content_addressed(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    await translate_cql([PROBE], engine=engine)
    assert (tmp_path / f"{elm_key(PROBE, [PROBE])}.json").exists()
    fresh = _engine(tmp_path)  # a new process: served from disk, no worker call
    (lib,) = await translate_cql([PROBE], engine=fresh)
    assert lib.name == "Probe"
    assert all(worker.starts == 0 for worker in fresh.workers)
    await engine.close()


async def test_worker_restarts_after_crash() -> None:
    engine = _engine(None)
    async with engine.lease() as worker:
        first = await worker.request("ping", {})
        os.kill(first["pid"], signal.SIGKILL)
        again = await worker.request("ping", {})  # dead process noticed, a new one started
    assert again["pid"] != first["pid"]
    await engine.close()


def test_engine_is_built_from_settings() -> None:
    settings = Settings(cql_workers=3, cql_timeout_s=7, elm_cache_dir="var/x", node="/bin/node-x")
    engine = CqlEngine.from_settings(settings)
    assert len(engine.workers) == 3
    assert engine.timeout_s == 7
    assert str(engine.cache.directory) == "var/x"
    with pytest.raises(ValueError, match="at least one"):
        CqlEngine(node=None, timeout_s=1, elm_cache_dir=None, processes=0)
