"""MedQC's built-in structured indicators: Measures, CQL Libraries, ValueSets and the MedQC CodeSystem.

:func:`builtin_resources` returns them ready to be seeded (idempotently, by id) into the store at start-up.
Libraries carry ``text/cql`` content; the store's Library hook
(:func:`measures.library_loader.prepare_library`) adds the translated ELM.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FHIRHELPERS_CQL = HERE.parent / "cql" / "cql" / "FHIRHelpers-4.0.1.cql"
LIBRARY_BASE = "http://medqc.org/fhir/Library/"

_HEADER = re.compile(r"^\s*library\s+(\w+)\s+version\s+'([^']+)'", re.MULTILINE)
_INCLUDE = re.compile(r"^\s*include\s+(\w+)\s+version\s+'([^']+)'", re.MULTILINE)


def library_resource(cql: str, *, title: str | None = None) -> dict[str, Any]:
    """A FHIR Library for one CQL text (id = name, canonical under MedQC's Library base)."""
    header = _HEADER.search(cql)
    if header is None:
        raise ValueError("CQL has no `library Name version '...'` header")
    name, version = header.groups()
    resource: dict[str, Any] = {
        "resourceType": "Library",
        "id": name,
        "url": LIBRARY_BASE + name,
        "version": version,
        "name": name,
        "status": "active",
        "type": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}
            ]
        },
        "content": [{"contentType": "text/cql", "data": base64.b64encode(cql.encode()).decode()}],
    }
    if title:
        resource["title"] = title
    depends = [
        {"type": "depends-on", "resource": f"{LIBRARY_BASE}{inc}|{ver}"} for inc, ver in _INCLUDE.findall(cql)
    ]
    if depends:
        resource["relatedArtifact"] = depends
    return resource


def fhirhelpers_cql() -> str:
    return FHIRHELPERS_CQL.read_text(encoding="utf-8")


@cache
def _load() -> tuple[dict[str, Any], ...]:
    resources: list[dict[str, Any]] = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted((HERE / "resources").glob("*.json"))
    ]
    resources.append(library_resource(fhirhelpers_cql(), title="FHIRHelpers (MedQC)"))
    resources.extend(
        library_resource(p.read_text(encoding="utf-8")) for p in sorted((HERE / "cql").glob("*.cql"))
    )
    return tuple(resources)


def builtin_resources() -> list[dict[str, Any]]:
    """Fresh copies of every built-in resource (CodeSystem, ValueSets, Libraries, Measures)."""
    return json.loads(json.dumps(list(_load())))  # type: ignore[no-any-return]
