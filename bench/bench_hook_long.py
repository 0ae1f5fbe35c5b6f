"""The discharge hook on long stays (40 notes of ~3 KB each, as a two-week stay has), with Temporal in the
path, at 1 and 8 clients: the hook's budget (the defaults: ``MEDQC_HOOK_INLINE_DISEASES`` 2 diseases,
``MEDQC_HOOK_INLINE_NOTE_CHARS`` 4,000 characters of the latest notes) against judging every indicator on
every note before answering (both ``0``, the baseline), measured in the same run; with the budget, how
long after the last answer the background has judged every stay on all of its notes.

Two kinds of stay, every request a fresh patient and encounter (nothing judged before, nothing cached):
- ``af``: an atrial-fibrillation stay (I48 coded), its notes drawn from the AF notes of the test data;
- ``mixed``: notes drawn from every disease of the CMQCIC dev split (the notes name ~29 diseases: the
  worst case for the budget, and what the issue's "50 notes, 89 indicators" figure measured).

    python bench/bench_hook_long.py [--notes 40] [--requests 24]

Writes ``bench/results/hook-long.json``; prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_cds import ISSUER  # a sibling script (bench/ is on sys.path)
from bench_orchestration import drained, medqc_server

from conformance.cds_checks import DISCHARGE_SERVICE, ClientKeys

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cmqcic" / "dev.jsonl"
AF = sorted((ROOT / "tests" / "data").glob("heldout*/af.jsonl"))
RESULTS = ROOT / "bench" / "results" / "hook-long.json"


def _notes(paths: list[Path]) -> list[str]:
    rows = [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["patient note"]) for r in rows]


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def hook_body(texts: list[str], notes: int, icd: str | None, rng: random.Random) -> dict[str, Any]:
    """One encounter-discharge call with a complete prefetch: a fresh stay of ``notes`` notes of ~3 KB."""
    pid, eid = f"p-{uuid.uuid4().hex[:12]}", f"e-{uuid.uuid4().hex[:12]}"
    documents = []
    for k in range(notes):
        text = ""
        while len(text) < 1000:  # ~3 KB of UTF-8
            text += rng.choice(texts)
        documents.append(
            {
                "resourceType": "DocumentReference",
                "id": f"{eid}-n{k}",
                "status": "current",
                "subject": {"reference": f"Patient/{pid}"},
                "context": {"encounter": [{"reference": f"Encounter/{eid}"}]},
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain",
                            "data": base64.b64encode(text.encode()).decode(),
                        }
                    }
                ],
            }
        )
    conditions = (
        []
        if icd is None
        else [
            {
                "resourceType": "Condition",
                "id": f"{eid}-dx",
                "subject": {"reference": f"Patient/{pid}"},
                "encounter": {"reference": f"Encounter/{eid}"},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": icd}]},
            }
        ]
    )
    prefetch = {
        "patient": {"resourceType": "Patient", "id": pid},
        "encounter": {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": "2026-11-20T08:00:00+08:00", "end": "2026-12-04T10:00:00+08:00"},
        },
        "conditions": _searchset(conditions),
        "observations": _searchset([]),
        "procedures": _searchset([]),
        "medicationRequests": _searchset([]),
        "documentReferences": _searchset(documents),
    }
    return {
        "hook": "encounter-discharge",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": pid, "encounterId": eid},
        "prefetch": prefetch,
    }


async def load(base: str, bodies: list[dict[str, Any]], keys: ClientKeys, concurrency: int) -> dict[str, Any]:
    url = f"{base}/cds-services/{DISCHARGE_SERVICE}"
    latencies: list[float] = []
    cards: list[int] = []
    errors: dict[str, int] = {}
    queue = iter(bodies)
    async with httpx.AsyncClient(timeout=120) as client:

        async def worker() -> None:
            for body in queue:
                started = time.perf_counter()
                try:
                    response = await client.post(
                        url, json=body, headers={"Authorization": f"Bearer {keys.token(url)}"}
                    )
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append((time.perf_counter() - started) * 1000)
                if status == "200":
                    cards.append(len(response.json()["cards"]))
                else:
                    errors[status] = errors.get(status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "clients": concurrency,
        "requests": len(latencies),
        "p50_ms": round(q[49]),
        "p95_ms": round(q[94]),
        "errors": sum(errors.values()),
        "cards_per_call": round(statistics.mean(cards), 1) if cards else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notes", type=int, default=40)
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rng = random.Random(7)
    kinds = {"af": (_notes(AF), "I48.x00"), "mixed": (_notes([DATA]), None)}
    keys = ClientKeys(issuer=ISSUER, es384=ClientKeys.generate(ISSUER, kid_prefix="bench").es384)
    results: dict[str, Any] = {}
    budgets = {
        "budget": {},
        "all": {"MEDQC_HOOK_INLINE_DISEASES": "0", "MEDQC_HOOK_INLINE_NOTE_CHARS": "0"},
    }
    for name, env in budgets.items():
        with (
            tempfile.TemporaryDirectory(prefix="medqc-bench-hook-") as tmp,
            medqc_server(Path(tmp), keys, temporal=True, extra_env=env) as base,
        ):
            warm = [hook_body(texts, args.notes, icd, rng) for texts, icd in kinds.values()]
            asyncio.run(load(base, warm, keys, 1))
            asyncio.run(drained(Path(tmp) / "bench.sqlite"))
            for kind, (texts, icd) in kinds.items():
                for clients in (1, 8):
                    n = args.requests if clients > 1 else max(4, args.requests // 4)
                    bodies = [hook_body(texts, args.notes, icd, rng) for _ in range(n)]
                    measured = asyncio.run(load(base, bodies, keys, clients))
                    measured["background_done_after_s"] = asyncio.run(drained(Path(tmp) / "bench.sqlite"))
                    results.setdefault(name, {}).setdefault(kind, []).append(measured)
                    print(name, kind, measured, file=sys.stderr)
    report = {
        "benchmark": "encounter-discharge, long stays, complete prefetch, Temporal in the path, cold records",
        "notes_per_stay": args.notes,
        "results": results,
        "budget": "MEDQC_HOOK_INLINE_DISEASES=2, MEDQC_HOOK_INLINE_NOTE_CHARS=4000 (the defaults)",
        "all": "both 0: every indicator judged on every note before answering",
        "p95_8_clients_ratio_budget_vs_all": {
            kind: round(results["budget"][kind][1]["p95_ms"] / results["all"][kind][1]["p95_ms"], 2)
            for kind in kinds
        },
        "goal": {"p95_ms_below_at_8_clients": 300},
    }
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
