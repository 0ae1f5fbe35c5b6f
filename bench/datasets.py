"""Benchmark datasets of any size, generated from the shipped Synthea bundles (deterministic by seed).

Each of the shipped bundles is one patient's record. A dataset of ``n`` resources is made of copies of
those records, taken in turn: every copy gets fresh ids (a uuid per resource, drawn from the seed), every
reference to a resource of the record (``urn:uuid:…`` or ``Type/id``) is rewritten to the copy's id as
``Type/id``, and the patient's identifiers and names are varied, so a copy is a new patient. Conditional
references to shared practitioners, organisations and locations (``Practitioner?identifier=…``) are kept
as they are. The last copy is cut at ``n`` resources; a record's resources are ordered Patient first,
then Encounter and Condition, then the rest, and last what points at others (DiagnosticReport, Claim,
ExplanationOfBenefit), so a cut drops leaves, not the resources others point at. (The trimmed PCI
record already points at Encounters it does not contain; its copies do too.)

Fast: each source resource is compiled once into a text template split at its ids; a copy joins fresh
ids into the templates and parses them (200,000 resources in a few seconds).

    from bench.datasets import resources, transaction_bundles
    for resource in resources(50_000, seed=1): ...
    for bundle in transaction_bundles(50_000, seed=1, size=500): ...

    python -m bench.datasets 200000 --seed 0 --out /tmp/200k.ndjson   # or --bundles DIR
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
SYNTHEA = ROOT.parent / "shared" / "data" / "fhir" / "synthea"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: resources others point at come first, so cutting the last copy short drops leaves
_RANK = {
    "Patient": 0,
    "Encounter": 1,
    "Condition": 2,
    "DiagnosticReport": 7,
    "Claim": 8,
    "ExplanationOfBenefit": 9,
}


@dataclass(frozen=True, slots=True)
class _Record:
    """One patient's record compiled for copying: per resource, text split at the ids to replace."""

    #: per resource, literal pieces; an id slot sits between two consecutive pieces
    pieces: tuple[tuple[str, ...], ...]
    #: per resource, the index (into the record's id table) of each slot
    slots: tuple[tuple[int, ...], ...]
    #: the number of distinct ids of the record (fresh uuids drawn per copy)
    ids: int
    #: the index of the Patient resource
    patient: int


def _resources_of(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        full_url = str(entry.get("fullUrl") or "")
        if not resource.get("id") and full_url.startswith("urn:uuid:"):
            resource = {**resource, "id": full_url.removeprefix("urn:uuid:")}
        out.append(resource)
    return sorted(out, key=lambda r: _RANK.get(str(r.get("resourceType")), 5))


def _compile(bundle: dict[str, Any]) -> _Record:
    resources = _resources_of(bundle)
    type_of = {str(r["id"]): str(r["resourceType"]) for r in resources if r.get("id")}
    patient = next(i for i, r in enumerate(resources) if r.get("resourceType") == "Patient")
    # the patient's own identifier uuids (Synthea's id, the MRN) are ids of the copy too
    extra = [
        str(ident.get("value"))
        for ident in resources[patient].get("identifier") or []
        if _UUID.fullmatch(str(ident.get("value") or ""))
    ]
    table: dict[str, int] = {}
    for rid in [*type_of, *extra]:
        table.setdefault(rid, len(table))
    pieces: list[tuple[str, ...]] = []
    slots: list[tuple[int, ...]] = []
    for resource in resources:
        text = orjson.dumps(resource).decode()
        # urn:uuid references become Type/id so a copy's resources stand alone
        text = re.sub(
            r'"urn:uuid:(' + _UUID.pattern + r')"',
            lambda m: f'"{type_of[m[1]]}/{m[1]}"' if m[1] in type_of else m[0],
            text,
        )
        parts: list[str] = []
        where: list[int] = []
        last = 0
        for match in _UUID.finditer(text):
            if match[0] in table:
                parts.append(text[last : match.start()])
                where.append(table[match[0]])
                last = match.end()
        parts.append(text[last:])
        pieces.append(tuple(parts))
        slots.append(tuple(where))
    return _Record(tuple(pieces), tuple(slots), len(table), patient)


@cache
def _records(source: Path) -> tuple[_Record, ...]:
    paths = sorted(source.glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no Synthea bundles in {source}")
    return tuple(_compile(orjson.loads(p.read_bytes())) for p in paths)


def _vary_patient(patient: dict[str, Any], copy: int) -> None:
    """A new person: the copy number joins every identifier value that is not an id and every name."""
    for ident in patient.get("identifier") or []:
        value = str(ident.get("value") or "")
        if value and not _UUID.fullmatch(value):
            ident["value"] = f"{value}-{copy}"
    for name in patient.get("name") or []:
        if name.get("family"):
            name["family"] = f"{name['family']}{copy}"
        if name.get("given"):
            name["given"] = [f"{name['given'][0]}{copy}", *name["given"][1:]]


def patients(n: int, *, seed: int = 0, source: Path = SYNTHEA) -> Iterator[list[dict[str, Any]]]:
    """``n`` resources in all, as one list of resources per patient copy (the last one maybe cut)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    records = _records(source)
    rng = random.Random(seed)
    left = n
    copy = 0
    while left > 0:
        record = records[copy % len(records)]
        fresh = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(record.ids)]
        count = min(left, len(record.pieces))
        out = []
        for parts, where in zip(record.pieces[:count], record.slots[:count], strict=True):
            text = [parts[0]]
            for slot, part in zip(where, parts[1:], strict=True):
                text.append(fresh[slot])
                text.append(part)
            out.append(orjson.loads("".join(text)))
        if record.patient < count:
            _vary_patient(out[record.patient], copy)
        yield out
        left -= count
        copy += 1


def resources(n: int, *, seed: int = 0, source: Path = SYNTHEA) -> Iterator[dict[str, Any]]:
    """``n`` resources with fresh ids, one after the other."""
    for record in patients(n, seed=seed, source=source):
        yield from record


def transaction_bundles(
    n: int, *, seed: int = 0, size: int | None = None, source: Path = SYNTHEA
) -> Iterator[dict[str, Any]]:
    """``n`` resources as transaction Bundles of PUT entries: one per patient copy, or of ``size``
    resources each when ``size`` is given."""
    if size is not None and size < 1:
        raise ValueError("size must be >= 1")
    chunks: Iterator[list[dict[str, Any]]]
    if size is None:
        chunks = patients(n, seed=seed, source=source)
    else:
        chunks = _chunked(resources(n, seed=seed, source=source), size)
    for chunk in chunks:
        yield {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                for r in chunk
            ],
        }


def _chunked(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a benchmark dataset (ndjson or transaction bundles).")
    parser.add_argument("n", type=int, help="number of resources")
    parser.add_argument("--seed", type=int, default=0)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="one ndjson file")
    target.add_argument("--bundles", type=Path, help="a folder of transaction Bundles, one per patient")
    args = parser.parse_args(argv)
    if args.out is not None:
        with args.out.open("wb") as fh:
            for resource in resources(args.n, seed=args.seed):
                fh.write(orjson.dumps(resource) + b"\n")
    else:
        args.bundles.mkdir(parents=True, exist_ok=True)
        for i, bundle in enumerate(transaction_bundles(args.n, seed=args.seed)):
            (args.bundles / f"bundle-{i:06d}.json").write_bytes(orjson.dumps(bundle))
    print(f"{args.n} resources written", file=sys.stderr)


if __name__ == "__main__":
    main()
