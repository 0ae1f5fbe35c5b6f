"""The encounter-discharge run: fast answer, reports stored after the response, full-policy refinement
reused (agents/orchestration; without Temporal the durable steps run in-process from the outbox)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents.discharge import EXT_POLICY
from agents.orchestration.runner import Orchestrator
from agents.orchestration.runs import encounter_discharge
from agents.verifiers.base import Evidence, FactVerdict
from agents.verifiers.context import VerificationContext
from agents.verifiers.policy import VerificationPolicy, default_policy
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.schema import FactSpec
from medqc.services import Services, build_services
from medqc.settings import Settings

NOTE = "诊断：持续性心房颤动。入院后HAS-BLED评分2分。"


class EverythingDone:
    """A stand-in second opinion that affirms every fact, quoting the whole first note."""

    name = "llm"

    async def verify(self, fact: FactSpec, ctx: VerificationContext) -> FactVerdict:
        note = ctx.notes[0]
        return FactVerdict(
            fact_id=fact.id,
            value=True,
            method="llm",
            confidence=0.95,
            evidence=[Evidence(reference=note.reference, quote=note.text[:8], start=0, end=8)],
        )


def _record(text: str) -> Any:
    return record_from_resources(
        [
            {"resourceType": "Patient", "id": "p"},
            {"resourceType": "Encounter", "id": "e", "status": "finished", "class": {"code": "IMP"}},
            {
                "resourceType": "DocumentReference",
                "id": "n",
                "status": "current",
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain",
                            "data": base64.b64encode(text.encode()).decode(),
                        }
                    }
                ],
            },
        ]
    )


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    built = await build_services(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/d.sqlite"), seed=False
    )
    yield built
    await built.close()


class Judge:
    """The hook's evaluator over ``services`` with the given policies."""

    def __init__(self, services: Services, *, fast: VerificationPolicy, full: VerificationPolicy | None = None):
        self.services = services
        services.fast_policy, services.full_policy = fast, full
        self.orchestrator: Orchestrator = services.orchestrator

    async def __call__(self, record: Any) -> dict[str, Any]:
        return await encounter_discharge(self.orchestrator, record)

    async def drain(self) -> None:
        await self.orchestrator.drain()


def _numerators(bundle: dict[str, Any]) -> dict[str, int]:
    out = {}
    for entry in bundle["entry"]:
        report = entry["resource"]
        counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
        out[report["measure"].split("|")[0].rsplit("/", 1)[-1]] = counts["numerator"]
    return out


async def test_fast_answer_then_stored(services: Services) -> None:
    judge = Judge(services, fast=default_policy())
    bundle = await judge(_record(NOTE))
    assert _numerators(bundle)["af-bleeding-risk"] == 1
    await judge.drain()
    stored = await services.repo.search("MeasureReport", [("evaluated-resource", "Encounter/e")])
    assert stored.total == len(bundle["entry"])
    assert all(
        any(e.get("valueCode") == "fast" for e in r["extension"] if e["url"] == EXT_POLICY)
        for r in stored.matches
    )


async def test_full_policy_refines_in_the_background_and_is_reused(services: Services) -> None:
    full = VerificationPolicy([*default_policy().verifiers, EverythingDone()], name="hybrid")
    judge = Judge(services, fast=default_policy(), full=full)
    first = await judge(_record(NOTE))
    assert _numerators(first)["af-thromboembolism-risk"] == 0  # fast path: not documented
    await judge.drain()
    second = await judge(_record(NOTE))
    assert _numerators(second)["af-thromboembolism-risk"] == 1  # the refined judgement of the same record
    changed = await judge(_record(NOTE + "出院。"))
    assert _numerators(changed)["af-thromboembolism-risk"] == 0  # a changed record is judged afresh
    await judge.drain()


class Broken:
    name = "broken"

    async def verify(self, fact: FactSpec, ctx: VerificationContext) -> FactVerdict:
        raise RuntimeError("defect")


async def test_a_failing_verifier_costs_a_fact_not_the_request(services: Services) -> None:
    policy = VerificationPolicy([Broken(), *default_policy().verifiers], name="lexical")
    judge = Judge(services, fast=policy)
    assert _numerators(await judge(_record(NOTE)))["af-bleeding-risk"] == 1
    await judge.drain()
