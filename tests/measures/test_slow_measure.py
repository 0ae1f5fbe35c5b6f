"""A measure whose logic runs past the CQL timeout gets a 503 for that request only; another
evaluation running at the same time, on the other worker process, is unaffected."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from fhir_ops.errors import ServiceUnavailable
from measures.builtin import fhirhelpers_cql
from measures.engine import CqlEngine, translate_cql
from measures.evaluate import evaluate_measure
from tests.measures.memory_repo import MemoryRepository

SLOW = """library Slow version '1.0.0'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers
context Patient
define "Initial Population":
  exists ((expand Interval[1, 8000]) A where Count((expand Interval[1, 8000]) B where B > A) < 0)
"""
FAST = SLOW.replace("Slow", "Fast").replace("8000", "3")


def _package(name: str, cql: str) -> list[dict[str, Any]]:
    library = {
        "resourceType": "Library",
        "id": name,
        "url": f"http://example.org/Library/{name}",
        "version": "1.0.0",
        "name": name,
        "status": "active",
        "type": {"coding": [{"code": "logic-library"}]},
        "content": [{"contentType": "text/cql", "data": base64.b64encode(cql.encode()).decode()}],
    }
    measure = {
        "resourceType": "Measure",
        "id": name,
        "status": "active",
        "library": [library["url"]],
        "scoring": {"coding": [{"code": "cohort"}]},
        "group": [
            {
                "population": [
                    {
                        "code": {"coding": [{"code": "initial-population"}]},
                        "criteria": {"language": "text/cql-identifier", "expression": "Initial Population"},
                    }
                ]
            }
        ],
    }
    return [library, measure]


async def test_a_slow_measure_is_a_503_and_others_go_on() -> None:
    repo = MemoryRepository([*_package("Slow", SLOW), *_package("Fast", FAST)])
    repo.put({"resourceType": "Patient", "id": "p"})
    warm = CqlEngine(node=None, timeout_s=120, elm_cache_dir="var/elm-cache", processes=1)
    for text in (SLOW, FAST):  # translated (and cached on disk) before the short timeout applies
        await translate_cql([text, fhirhelpers_cql()], engine=warm)
    await warm.close()
    cql = CqlEngine(node=None, timeout_s=6, elm_cache_dir="var/elm-cache", processes=2)
    args: dict[str, Any] = {
        "period_start": "2024",
        "period_end": "2024",
        "report_type": None,
        "subject": None,
    }
    await asyncio.gather(*(w.start() for w in cql.workers))
    await evaluate_measure(repo, measure_id="Fast", cql=cql, **args)
    slow = asyncio.create_task(evaluate_measure(repo, measure_id="Slow", cql=cql, **args))
    await asyncio.sleep(0.3)
    fast = await evaluate_measure(repo, measure_id="Fast", cql=cql, **args)
    assert not slow.done()
    assert fast["group"][0]["population"][0]["count"] == 0  # answered while the slow one runs
    with pytest.raises(ServiceUnavailable):
        await slow
    again = await evaluate_measure(repo, measure_id="Fast", cql=cql, **args)  # the stopped process restarts
    assert again["type"] == "summary"
    await cql.close()
