"""Latency of ``encounter-discharge`` with complete prefetch, for the Synthea patients.

Fires ``POST /cds-services/medqc-discharge-qc`` at a running MedQC, at 1 and 8 concurrent clients,
and prints p50/p95/p99 (ms) and the error count as JSON. Each call carries a fresh JWT (signed with
``--jwk``, a private JWK file, as issuer ``--iss``) unless ``--no-auth`` (server with
``MEDQC_CDS_AUTH=off``).

    python bench/bench_cds.py --base-url http://127.0.0.1:8080 --no-auth
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

SYNTHEA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fhir" / "synthea"
SERVICE = "medqc-discharge-qc"
KEY_BY_TYPE = {
    "Condition": "conditions",
    "Observation": "observations",
    "Procedure": "procedures",
    "MedicationRequest": "medicationRequests",
    "DocumentReference": "documentReferences",
}


def _encounter_of(resource: dict[str, Any]) -> str | None:
    ref = resource.get("encounter") or (resource.get("context") or {}).get("encounter")
    ref = ref[0] if isinstance(ref, list) and ref else ref
    value = (ref or {}).get("reference") if isinstance(ref, dict) else None
    return str(value).rsplit("/", 1)[-1].removeprefix("urn:uuid:") if value else None


def hook_bodies(folder: Path, limit_per_patient: int) -> list[dict[str, Any]]:
    """One request with a complete prefetch per encounter (the latest ones of each Synthea patient)."""
    bodies = []
    for path in sorted(folder.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        resources = [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
        patient = next((r for r in resources if r["resourceType"] == "Patient"), None)
        encounters = [r for r in resources if r["resourceType"] == "Encounter"]
        if patient is None:
            continue
        encounters.sort(key=lambda e: str((e.get("period") or {}).get("start", "")), reverse=True)
        for encounter in encounters[:limit_per_patient]:
            prefetch: dict[str, Any] = {"patient": patient, "encounter": encounter}
            for rtype, key in KEY_BY_TYPE.items():
                entries = [
                    {"resource": r}
                    for r in resources
                    if r["resourceType"] == rtype and _encounter_of(r) == encounter["id"]
                ]
                prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
            bodies.append(
                {
                    "hook": "encounter-discharge",
                    "hookInstance": "",
                    "context": {
                        "userId": "Practitioner/bench",
                        "patientId": patient["id"],
                        "encounterId": encounter["id"],
                    },
                    "prefetch": prefetch,
                }
            )
    return bodies


class TokenMaker:
    def __init__(self, jwk_path: Path | None, issuer: str, audience: str) -> None:
        self.audience = audience
        self.issuer = issuer
        self.key: ECKey | RSAKey | None = None
        if jwk_path is not None:
            data = json.loads(jwk_path.read_text(encoding="utf-8"))
            self.key = ECKey.import_key(data) if data.get("kty") == "EC" else RSAKey.import_key(data)

    def headers(self) -> dict[str, str]:
        if self.key is None:
            return {}
        alg = "ES384" if isinstance(self.key, ECKey) else "RS384"
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        token = jwt.encode(
            {"alg": alg, "kid": self.key.kid, "typ": "JWT"}, claims, self.key, algorithms=[alg]
        )
        return {"Authorization": f"Bearer {token}"}


async def run(
    client: httpx.AsyncClient,
    url: str,
    bodies: list[dict[str, Any]],
    tokens: TokenMaker,
    *,
    concurrency: int,
    n: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            body = {**bodies[i % len(bodies)], "hookInstance": str(uuid.uuid4())}
            started = time.perf_counter()
            try:
                response = await client.post(url, json=body, headers=tokens.headers())
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append((time.perf_counter() - started) * 1000)
            if status != "200":
                errors[status] = errors.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "concurrency": concurrency,
        "requests": n,
        "throughput_rps": round(n / elapsed, 1),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "errors": errors,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--synthea", type=Path, default=SYNTHEA)
    parser.add_argument("--per-patient", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--jwk", type=Path, help="private JWK (ES384 or RS384) to sign client JWTs")
    parser.add_argument("--iss", default="https://ehr.example.org/")
    parser.add_argument("--no-auth", action="store_true")
    args = parser.parse_args()
    url = f"{args.base_url.rstrip('/')}/cds-services/{SERVICE}"
    tokens = TokenMaker(None if args.no_auth else args.jwk, args.iss, url)
    bodies = hook_bodies(args.synthea, args.per_patient)
    if not bodies:
        raise SystemExit(f"no Synthea bundles in {args.synthea}")
    async with httpx.AsyncClient(timeout=30) as client:
        await run(client, url, bodies, tokens, concurrency=1, n=min(10, args.requests))  # warm-up
        results = [
            await run(client, url, bodies, tokens, concurrency=c, n=args.requests) for c in args.concurrency
        ]
    print(json.dumps({"service": SERVICE, "encounters": len(bodies), "results": results}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
