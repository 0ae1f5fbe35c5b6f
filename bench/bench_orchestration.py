"""Hook latency with Temporal in the path, and the orchestration's overhead per step (issue 15).

Starts ``medqc serve`` twice on a temporary SQLite database with CDS client authentication on: once with
its own supervised Temporal dev server (the default without MEDQC_TEMPORAL_ADDRESS: the hook records the
run and its outbox row, answers, then starts its workflow; the durable steps run as activities of the
``medqc worker`` child process), once with ``--no-temporal`` (the same steps, durable ones in-process) as
the baseline. Fires ``encounter-discharge`` with a complete prefetch for the Synthea encounters at 1 and
8 clients, waiting after each for the background work to be recorded (how long after the last answer),
then system-level ``$qc-evaluate`` (every step an activity: the caller waits for the workflow). Each
step's mean duration comes from the audit, the hook's hand-over time from ``/metrics``; the Temporal
overhead per step of ``$qc-evaluate`` is (request time − time inside the steps) / activities. Writes
``bench/results/orchestration.json``. Goal: hook p95 < 300 ms at 8 clients with Temporal, zero errors.

    python bench/bench_orchestration.py [--requests 200] [--qc 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bench_cds import ISSUER, SYNTHEA, hook_bodies, run  # a sibling script (bench/ is on sys.path)

from conformance.cds_checks import DISCHARGE_SERVICE, ClientKeys
from medqc.demo import free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "orchestration.json"
_SAMPLE = re.compile(r"^(medqc_run_\w+?)(?:_sum|_count)\{?([^}]*)\}? (\S+)$")


@contextmanager
def medqc_server(
    workdir: Path, keys: ClientKeys, *, temporal: bool, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    env = {
        **os.environ,
        "MEDQC_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.sqlite'}",
        "MEDQC_BASE_URL": base,
        "MEDQC_CDS_AUTH": "on",
        "MEDQC_CDS_ISSUERS": json.dumps({ISSUER: str(jwks)}),
        "MEDQC_LOG_LEVEL": "WARNING",
        "MEDQC_TEMPORAL_DEV_DB": str(workdir / "temporal.sqlite"),
        "MEDQC_TEMPORAL_DEV_PORT": str(free_port()),
        "MEDQC_TEMPORAL_DEV_UI_PORT": str(free_port()),
    }
    env.pop("MEDQC_LLM_BASE_URL", None)
    env.pop("MEDQC_TEMPORAL_ADDRESS", None)
    env.update(extra_env or {})
    flag = "--temporal" if temporal else "--no-temporal"
    log = (workdir / f"server{flag}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from medqc.cli import app; app()", "serve", "--port", str(port), flag],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"medqc serve exited: see {log.name}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200 and (
                    not temporal or "medqc_temporal_connected 1.0" in httpx.get(f"{base}/metrics").text
                ):
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


def metric_sums(text: str) -> dict[tuple[str, str], tuple[float, float]]:
    """(metric, labels) → (sum, count) of the orchestration histograms."""
    sums: dict[tuple[str, str], list[float]] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or "le=" in match[2]:
            continue
        slot = sums.setdefault((match[1], match[2]), [0.0, 0.0])
        slot[0 if "_sum" in line.split("{")[0].split(" ")[0] else 1] = float(match[3])
    return {k: (v[0], v[1]) for k, v in sums.items()}


async def qc_evaluate(base: str, database: Path, bodies: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """System-level $qc-evaluate of ``n`` prefetched records, one at a time: (request ms, step ms)."""
    async with httpx.AsyncClient(timeout=120) as client:
        latencies = []
        for i in range(n):
            resources = [
                e["resource"]
                for v in bodies[i % len(bodies)]["prefetch"].values()
                for e in (v.get("entry", []) if v.get("resourceType") == "Bundle" else [{"resource": v}])
            ]
            params = {
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "bundle",
                        "resource": {
                            "resourceType": "Bundle",
                            "type": "collection",
                            "entry": [{"resource": r} for r in resources],
                        },
                    },
                ],
            }
            started = time.perf_counter()
            response = await client.post(f"{base}/fhir/$qc-evaluate", json=params)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:300]
    means = {
        step: round(statistics.mean(values), 2)
        for step, values in audit_steps(database, "qc-evaluate")[1].items()
    }
    in_steps = sum(means.values())
    mean_request = statistics.mean(latencies)
    return {
        "requests": n,
        "request_mean_ms": round(mean_request, 1),
        "step_mean_ms": means,
        "outside_steps_mean_ms": round(mean_request - in_steps, 1),
        "overhead_per_activity_ms": round((mean_request - in_steps) / max(len(means), 1), 1),
    }


def audit_steps(database: Path, kind: str = "encounter-discharge") -> tuple[int, dict[str, list[float]]]:
    """From the audit: runs of ``kind`` whose steps are not all recorded yet, and each step's durations
    (the worker's steps run in its own process: its metrics are not this server's)."""
    with sqlite3.connect(database) as conn:
        runs = dict(conn.execute("SELECT run_id, steps FROM audit_runs WHERE kind = ?", (kind,)))
        rows = conn.execute(
            "SELECT run_id, step, duration_ms FROM audit_steps WHERE status = 'ok'"
        ).fetchall()
    done: dict[str, int] = {}
    durations: dict[str, list[float]] = {}
    for run_id, step, duration in rows:
        if run_id in runs:
            done[run_id] = done.get(run_id, 0) + 1
            durations.setdefault(step, []).append(duration)
    pending = sum(1 for run_id, steps in runs.items() if done.get(run_id, 0) < len(json.loads(steps)))
    return pending, durations


async def drained(database: Path, timeout_s: float = 600) -> float:
    """Seconds until every hook run's background steps are recorded."""
    began = time.perf_counter()
    while audit_steps(database)[0] and time.perf_counter() - began < timeout_s:
        await asyncio.sleep(0.2)
    return round(time.perf_counter() - began, 2)


async def measure(
    base: str, database: Path, bodies: list[dict[str, Any]], keys: ClientKeys, args: argparse.Namespace
) -> Any:
    url = f"{base}/cds-services/{DISCHARGE_SERVICE}"
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await run(client, url, bodies, keys, concurrency=1, n=len(bodies))  # warm-up: every record once
        await drained(database)
        before = metric_sums((await client.get(f"{base}/metrics")).text)
        hooks = []
        for clients in (1, 8):
            hooks.append(await run(client, url, bodies, keys, concurrency=clients, n=args.requests))
            # the background work the answers left behind, done after the last answer (the worker runs
            # at a lower CPU priority than the answers)
            hooks[-1]["background_done_after_s"] = await drained(database)
        after = metric_sums((await client.get(f"{base}/metrics")).text)
    handover = [
        (after[k][0] - before.get(k, (0.0, 0.0))[0], after[k][1] - before.get(k, (0.0, 0.0))[1])
        for k in after
        if k[0] == "medqc_run_handover_seconds"
    ]
    total, count = handover[0] if handover else (0.0, 0.0)
    return {
        "hook": hooks,
        "hook_step_mean_ms": {
            step: round(statistics.mean(values), 2) for step, values in audit_steps(database)[1].items()
        },
        "hook_handover_mean_ms": round(total / count * 1000, 2) if count else None,
        "qc_evaluate": await qc_evaluate(base, database, bodies, args.qc),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--synthea", type=Path, default=SYNTHEA)
    parser.add_argument("--per-patient", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--qc", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    bodies = hook_bodies(args.synthea, args.per_patient)
    if not bodies:
        raise SystemExit(f"no Synthea bundles in {args.synthea}")
    keys = ClientKeys(issuer=ISSUER, es384=ClientKeys.generate(ISSUER, kid_prefix="bench").es384)
    modes = {}
    for temporal in (True, False):
        with tempfile.TemporaryDirectory(prefix="medqc-bench-orch-") as tmp:
            with medqc_server(Path(tmp), keys, temporal=temporal) as base:
                modes["temporal" if temporal else "in-process"] = asyncio.run(
                    measure(base, Path(tmp) / "bench.sqlite", bodies, keys, args)
                )
    with_temporal = modes["temporal"]["hook"]
    report = {
        "benchmark": "encounter-discharge and $qc-evaluate through the orchestration, Temporal vs in-process",
        "encounters": len(bodies),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "goal": {"p95_ms_below_at_8_clients_with_temporal": 300, "errors": 0},
        "modes": modes,
        "goal_met": all(r["errors"] == 0 for r in with_temporal) and with_temporal[-1]["p95_ms"] < 300,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
