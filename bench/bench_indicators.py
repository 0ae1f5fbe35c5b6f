"""One indicator engine at hospital sizes: rating a catalog indicator for a period, and one long stay.

- first rating: N never-judged AF stays (CMQCIC dev notes with fresh ids, discharged across a quarter)
  → ``before_rating`` judges them (facts verified, fact Observations stored) and the CQL rates them;
- rating again: the same period with every stay's facts current (nothing is judged again);
- the ratio of end-to-end time to the CQL engine's own time (the rest is gathering data and judging);
- ``$qc-evaluate`` on one stay of 50 notes of ~3 KB (every indicator the notes place it in).

Usage: ``python bench/bench_indicators.py [--stays 1000] [--notes 50]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import measures.evaluate as evaluate_module  # noqa: E402
from agents.qc_evaluate import qc_judge  # noqa: E402
from fhir_ops.data_access.record import record_from_resources  # noqa: E402
from measures.evaluate import evaluate_measure  # noqa: E402
from measures.period import parse_period  # noqa: E402
from medqc.services import build_services  # noqa: E402
from medqc.settings import Settings  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "cmqcic" / "dev.jsonl"
AF_NOTES = sorted((ROOT / "tests" / "data").glob("heldout*/af.jsonl"))
MEASURE = "af-bleeding-risk"
PERIOD = ("2026-01-01", "2026-03-31")


def _notes(*paths: Path) -> list[str]:
    rows = [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["patient note"]) for r in rows]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _stay(i: int, note: str) -> list[dict[str, Any]]:
    day = 1 + i % 89
    month, dom = 1 + (day - 1) // 30, 1 + (day - 1) % 28
    end = f"2026-{month:02d}-{dom:02d}"
    pid, eid = f"bp{i}", f"be{i}"
    data = base64.b64encode(f"入院诊断：心房颤动。\n{note}".encode()).decode()
    return [
        {"resourceType": "Patient", "id": pid},
        {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": f"{end}T08:00:00+08:00", "end": f"{end}T18:00:00+08:00"},
        },
        {
            "resourceType": "Condition",
            "id": f"bc{i}",
            "subject": {"reference": f"Patient/{pid}"},
            "encounter": {"reference": f"Encounter/{eid}"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I48.x00"}]},
        },
        {
            "resourceType": "DocumentReference",
            "id": f"bd{i}",
            "status": "current",
            "subject": {"reference": f"Patient/{pid}"},
            "context": {"encounter": [{"reference": f"Encounter/{eid}"}]},
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}],
        },
    ]


async def _load(services: Any, resources: list[dict[str, Any]]) -> None:
    for start in range(0, len(resources), 2000):
        chunk = resources[start : start + 2000]
        entries = [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in chunk
        ]
        await services.repo.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})


class EngineClock:
    """Time spent inside the CQL engine's calculate calls (the rest is gathering and judging)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._inner = evaluate_module.calculate_measure

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


async def _rate(services: Any, clock: EngineClock) -> tuple[float, float, dict[str, Any]]:
    period = parse_period(*PERIOD)
    measure = await services.repo.read("Measure", MEASURE)
    clock.seconds = 0.0
    started = time.perf_counter()
    await services.before_rating(measure, period)
    judged = time.perf_counter()
    report = await evaluate_measure(
        services.repo,
        measure_id=MEASURE,
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        report_type="population",
        subject=None,
        cql=services.cql,
    )
    done = time.perf_counter()
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    return judged - started, done - started, counts


async def _long_stay(services: Any, notes: int) -> dict[str, Any]:
    texts = _notes(DEV)
    body: list[str] = []
    while len(body) < notes:
        text = ""
        while len(text) < 1000:  # ~3 KB of UTF-8
            text += texts[(len(body) * 7 + len(text)) % len(texts)]
        body.append(text)
    resources: list[dict[str, Any]] = _stay(0, "")[:3]
    for k, text in enumerate(body):
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": f"long-{k}",
                "status": "current",
                "context": {"encounter": [{"reference": "Encounter/be0"}]},
                "content": [{"attachment": {"contentType": "text/plain", "data": _b64(text)}}],
            }
        )
    record = record_from_resources(resources, "be0")
    timings = []
    indicators = 0
    for _ in range(3):
        started = time.perf_counter()
        result = await qc_judge(
            record,
            measures=None,
            denominator_asserted=False,
            policy=services.fast_policy,
            judge=services.judge,
        )
        timings.append(time.perf_counter() - started)
        indicators = len(result.bundle["entry"])
    return {
        "notes": notes,
        "note_bytes": round(sum(len(t.encode()) for t in body) / notes),
        "indicators": indicators,
        "qc_evaluate_s": round(min(timings[1:]), 3),
        "first_call_s": round(timings[0], 3),
    }


async def main(stays: int, notes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite",
            log_level="WARNING",
            elm_cache_dir=str(ROOT / "var" / "elm-cache"),
        )
        services = await build_services(settings)
        clock = EngineClock()
        evaluate_module.calculate_measure = clock  # type: ignore[assignment]
        try:
            af = _notes(*AF_NOTES)
            await _load(services, [r for i in range(stays) for r in _stay(i, af[i % len(af)])])
            judge_first, first, counts = await _rate(services, clock)
            engine_first = clock.seconds
            judge_again, again, counts_again = await _rate(services, clock)
            engine_again = clock.seconds
            assert counts == counts_again, (counts, counts_again)
            long_stay = await _long_stay(services, notes)
        finally:
            await services.close()
    return {
        "stays": stays,
        "measure": MEASURE,
        "populations": counts,
        "first_rating_s": round(first, 2),
        "first_rating_judging_s": round(judge_first, 2),
        "first_rating_engine_s": round(engine_first, 2),
        "rating_with_current_facts_s": round(again, 2),
        "rating_with_current_facts_judging_s": round(judge_again, 2),
        "rating_with_current_facts_engine_s": round(engine_again, 2),
        "end_to_end_over_engine": round(again / engine_again, 2) if engine_again else None,
        "per_stay_ms_current": round(again * 1000 / stays, 2),
        "long_stay": long_stay,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stays", type=int, default=1000)
    parser.add_argument("--notes", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.stays, args.notes)), ensure_ascii=False, indent=2))
