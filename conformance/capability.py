"""The CapabilityStatement, derived from the search-parameter table and the operation registry."""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir_ops.operations.registry import OperationRegistry
from fhir_ops.search.parameters import params_for, supported_types

_TYPE_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)
_SEARCH_DOC = (
    "Search: every R4 search parameter of type token, reference, date, string, uri, quantity and number "
    "(modifiers: token :not; string :exact, :contains; uri :below; reference :<type>); _id, "
    "_lastUpdated; chained reference parameters one level deep (subject.name, subject:Patient.name); "
    "_has one level deep (_has:Observation:patient:code); _count, _offset, _sort (_id, _lastUpdated, "
    "date parameters), _include and _revinclude (reference parameters, not :iterate), "
    "_summary (true, text, data, count, false), _elements, _total (always exact). Unknown parameters "
    "are reported in an OperationOutcome entry, or rejected with Prefer: handling=strict. "
    "Writes: conditional create (If-None-Exist), conditional update and delete (one match; several "
    "is 412; POST Type?criteria is a conditional create too), If-Match, JSON Patch "
    "(application/json-patch+json) and JSON Merge Patch (a JSON object), Prefer: return=minimal|"
    "representation|OperationOutcome. JSON only: XML is answered 406."
)


@cache
def _revincludes() -> dict[str, list[tuple[str, str]]]:
    """target type → the (source type, reference parameter) pairs that can point at it."""
    out: dict[str, list[tuple[str, str]]] = {}
    for source in supported_types():
        for param in params_for(source).values():
            if param.type != "reference":
                continue
            for target in param.targets or supported_types():
                out.setdefault(target, []).append((source, param.name))
    return out


def capability_statement(
    *, base_url: str, registry: OperationRegistry, software_version: str
) -> dict[str, Any]:
    resources = []
    for resource_type in supported_types():
        params = params_for(resource_type)
        entry: dict[str, Any] = {
            "type": resource_type,
            "interaction": [{"code": c} for c in _TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "searchInclude": [f"{resource_type}:{p.name}" for p in params.values() if p.type == "reference"],
            "searchRevInclude": sorted(
                f"{source}:{name}" for source, name in _revincludes().get(resource_type, ())
            ),
            "searchParam": [
                {"name": "_id", "type": "token"},
                {"name": "_lastUpdated", "type": "date"},
                *(
                    {
                        "name": p.name,
                        "type": p.type,
                        **({"documentation": p.documentation} if p.documentation else {}),
                    }
                    for p in params.values()
                ),
            ],
        }
        ops = [
            {"name": op.code, "definition": op.url}
            for op in registry
            if resource_type in op.resource_types and ({"type", "instance"} & set(op.levels))
        ]
        if ops:
            entry["operation"] = ops
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "publisher": "MedQC",
        "kind": "instance",
        "software": {"name": "MedQC", "version": software_version},
        "implementation": {"description": "MedQC embedded FHIR R4 store", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json", "application/merge-patch+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": _SEARCH_DOC,
                "security": {"description": "The FHIR facade is meant to run behind the hospital's gateway."},
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
                "operation": [
                    {"name": op.code, "definition": op.url} for op in registry if "system" in op.levels
                ],
            }
        ],
    }
