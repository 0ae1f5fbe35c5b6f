"""FHIR input files as transactions: the resources of a ``.json``/``.ndjson`` file, and the one
transaction Bundle that stores them idempotently (``urn:uuid:`` fullUrls become the ids, so loading the
same files twice leaves one copy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


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
