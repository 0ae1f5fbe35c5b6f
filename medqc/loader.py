"""``medqc load``: FHIR Bundles and resources from files (``.json``/``.ndjson``) or folders into a store.

Entries that a Bundle POSTs under a ``urn:uuid:`` fullUrl are stored under that uuid (a PUT), so loading
the same files twice leaves one copy; references between them are resolved the same way.

Memory stays bounded by the largest ``.json`` file: an ``.ndjson`` file is streamed line by line and
stored ``chunk`` resources per transaction (each chunk all-or-nothing; a bad line fails its chunk and is
named in the report), a ``.json`` file is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from fhir_ops.store.protocol import ResourceRepository


@dataclass(slots=True)
class LoadReport:
    files: int = 0
    resources: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in {".json", ".ndjson"} and p.is_file())
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(path)


def read_resources(path: Path) -> list[dict[str, Any]]:
    """The top-level resources of a file: one JSON resource, or one resource per ndjson line."""
    raw = path.read_bytes()
    if path.suffix == ".ndjson":
        return [orjson.loads(line) for line in raw.splitlines() if line.strip()]
    return [orjson.loads(raw)]


def _plain_writes(bundle: dict[str, Any]) -> bool:
    """True if every entry just stores a resource (POST Type or PUT Type/id, nothing conditional)."""
    for entry in bundle.get("entry") or []:
        request = entry.get("request") or {}
        method, url = request.get("method"), str(request.get("url", ""))
        if set(request) - {"method", "url"} or method not in {"POST", "PUT"} or "?" in url or "$" in url:
            return False
    return True


def as_transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """One transaction Bundle that stores ``resources`` (Bundles are unpacked) idempotently.

    A lone transaction/batch Bundle whose entries do more than store resources (conditional writes,
    deletes, reads) is sent as it is: its own semantics win.
    """
    if len(resources) == 1 and resources[0].get("type") in {"transaction", "batch"}:
        if not _plain_writes(resources[0]):
            return resources[0]
    entries: list[dict[str, Any]] = []
    for resource in resources:
        if resource.get("resourceType") == "Bundle" and resource.get("type") in {
            "transaction",
            "batch",
            "collection",
            "searchset",
        }:
            entries.extend(_entries_of_bundle(resource))
        else:
            entries.append(_entry_for(resource, None))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _entries_of_bundle(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        request = entry.get("request") or {}
        if request.get("method") == "DELETE":
            continue
        out.append(_entry_for(resource, entry.get("fullUrl")))
    return out


def _entry_for(resource: dict[str, Any], full_url: str | None) -> dict[str, Any]:
    rtype = resource.get("resourceType")
    rid = resource.get("id")
    if not rid and full_url and full_url.startswith("urn:uuid:"):
        rid = full_url.removeprefix("urn:uuid:")
        resource = {**resource, "id": rid}
    entry: dict[str, Any] = {"resource": resource}
    if full_url:
        entry["fullUrl"] = full_url
    if rid:
        entry["request"] = {"method": "PUT", "url": f"{rtype}/{rid}"}
    else:
        entry["request"] = {"method": "POST", "url": str(rtype)}
    return entry


def _batches(path: Path, chunk: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(where, resources)`` per transaction: the whole ``.json`` file, or ``chunk`` ndjson lines."""
    if path.suffix != ".ndjson":
        yield str(path), read_resources(path)
        return
    with path.open("rb") as fh:
        lines = (line for line in fh if line.strip())
        first = 1
        while batch := list(islice(lines, chunk)):
            where = f"{path} (resources {first}-{first + len(batch) - 1})"
            yield where, [orjson.loads(line) for line in batch]
            first += len(batch)


async def load_paths(
    repo: ResourceRepository,
    paths: list[Path],
    *,
    progress: Callable[[int, int, int], None] | None = None,
    chunk: int = 2000,
) -> LoadReport:
    """Load every file (see the module docstring for the transactions); a transaction that fails is
    reported and the rest go on. ``progress(files_done, files, resources_stored)`` is called after each
    transaction."""
    from fhir_ops.errors import FhirError

    report = LoadReport()
    files = list(iter_files(paths))
    for done, path in enumerate(files, 1):
        report.files += 1
        batches = _batches(path, chunk)
        while True:
            where = str(path)
            try:
                step = next(batches, None)
                if step is None:
                    break
                where, resources = step
                bundle = as_transaction(resources)
                response = await repo.transaction(bundle)
            except (FhirError, orjson.JSONDecodeError, ValueError) as exc:
                report.errors.append(f"{where}: {getattr(exc, 'diagnostics', None) or exc}")
                if path.suffix != ".ndjson" or isinstance(exc, orjson.JSONDecodeError):
                    break
            else:
                for entry in bundle["entry"]:
                    rtype = entry["resource"]["resourceType"]
                    report.by_type[rtype] = report.by_type.get(rtype, 0) + 1
                report.resources += len(response.get("entry") or [])
            if progress is not None:
                progress(done - 1, len(files), report.resources)
        if progress is not None:
            progress(done, len(files), report.resources)
    return report
