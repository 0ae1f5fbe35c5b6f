"""Latency of ``encounter-discharge`` with complete prefetch, for the Synthea encounters (issue 6).

Self-contained: starts the real app (``medqc serve`` in a child process, so the load generator does not
share its interpreter) on a temporary SQLite database with CDS client authentication on and a generated
ES384 key trusted through a JWKS file, builds a complete prefetch for the latest encounters of every
Synthea patient, then fires ``POST /cds-services/medqc-discharge-qc`` at 1 and 8 concurrent clients,
each call with a fresh signed JWT. Writes p50/p95/p99 latency (ms), throughput and error counts to
``bench/results/cds.json``. Goal: p95 < 300 ms on 2 cores, zero errors.

    python bench/bench_cds.py [--requests 200] [--per-patient 3] [--concurrency 1 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from conformance.cds_checks import (
    DISCHARGE_SERVICE,
    ClientKeys,
    bundle_resources,
    discharge_context,
    discharge_prefetch,
    latest_encounters,
)
from medqc.demo import free_port

ROOT = Path(__file__).resolve().parents[1]
SYNTHEA = ROOT.parent / "shared" / "data" / "fhir" / "synthea"
RESULTS = ROOT / "bench" / "results" / "cds.json"
ISSUER = "urn:medqc:bench-ehr"


def hook_bodies(folder: Path, per_patient: int) -> list[dict[str, Any]]:
    """One request with a complete prefetch per encounter (the latest ``per_patient`` of each bundle)."""
    bodies = []
    for path in sorted(folder.glob("*.json")):
        resources = bundle_resources(json.loads(path.read_text(encoding="utf-8")))
        for encounter_id in latest_encounters(resources, per_patient):
            prefetch = discharge_prefetch(resources, encounter_id)
            bodies.append(
                {
                    "hook": "encounter-discharge",
                    "hookInstance": "",
                    "context": discharge_context(prefetch, "Practitioner/bench"),
                    "prefetch": prefetch,
                }
            )
    return bodies


@contextmanager
def medqc_server(workdir: Path, keys: ClientKeys, database_url: str | None = None) -> Iterator[str]:
    """``medqc serve`` on a free port with CDS auth on, on ``database_url`` (default: a fresh SQLite file
    in ``workdir``); yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    env = {
        **os.environ,
        "MEDQC_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{workdir / 'bench.sqlite'}",
        "MEDQC_BASE_URL": base,
        "MEDQC_CDS_AUTH": "on",
        "MEDQC_CDS_ISSUERS": json.dumps({ISSUER: str(jwks)}),
        "MEDQC_LOG_LEVEL": "WARNING",
    }
    env.pop("MEDQC_LLM_BASE_URL", None)  # the hook's budget is the fast policy's
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from medqc.cli import app; app()", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"medqc serve exited: see {workdir / 'server.log'}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("medqc serve did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def run(
    client: httpx.AsyncClient,
    url: str,
    bodies: list[dict[str, Any]],
    keys: ClientKeys,
    *,
    concurrency: int,
    n: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    cards: list[int] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            body = {**bodies[i % len(bodies)], "hookInstance": str(uuid.uuid4())}
            headers = {"Authorization": f"Bearer {keys.token(url)}"}
            started = time.perf_counter()
            try:
                response = await client.post(url, json=body, headers=headers)
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append((time.perf_counter() - started) * 1000)
            if status == "200":
                cards.append(len(response.json()["cards"]))
            else:
                errors[status] = errors.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "concurrency": concurrency,
        "requests": n,
        "throughput_rps": round(n / elapsed, 1),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "max_ms": round(max(latencies), 1),
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "cards_per_call": round(statistics.mean(cards), 2) if cards else 0,
    }


async def bench(
    base: str, bodies: list[dict[str, Any]], keys: ClientKeys, args: argparse.Namespace
) -> list[Any]:
    url = f"{base}/cds-services/{DISCHARGE_SERVICE}"
    limits = httpx.Limits(
        max_connections=max(args.concurrency), max_keepalive_connections=max(args.concurrency)
    )
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await run(client, url, bodies, keys, concurrency=1, n=len(bodies))  # warm-up: every record once
        return [
            await run(client, url, bodies, keys, concurrency=c, n=args.requests) for c in args.concurrency
        ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--synthea", type=Path, default=SYNTHEA)
    parser.add_argument("--per-patient", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    bodies = hook_bodies(args.synthea, args.per_patient)
    if not bodies:
        raise SystemExit(f"no Synthea bundles in {args.synthea}")
    keys = ClientKeys(issuer=ISSUER, es384=ClientKeys.generate(ISSUER, kid_prefix="bench").es384)
    with tempfile.TemporaryDirectory(prefix="medqc-bench-cds-") as tmp, medqc_server(Path(tmp), keys) as base:
        results = asyncio.run(bench(base, bodies, keys, args))
    report = {
        "benchmark": "cds encounter-discharge, complete prefetch, signed ES384 client JWT per call",
        "service": DISCHARGE_SERVICE,
        "encounters": len(bodies),
        "prefetch_resources_mean": round(
            statistics.mean(
                sum(
                    len(v.get("entry", [])) if v.get("resourceType") == "Bundle" else 1
                    for v in b["prefetch"].values()
                )
                for b in bodies
            ),
            1,
        ),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "goal": {"p95_ms_below": 300, "errors": 0},
        "results": results,
        "goal_met": all(r["p95_ms"] < 300 and r["errors"] == 0 for r in results),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
