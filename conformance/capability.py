"""The CapabilityStatement, derived from the search-parameter table and the operation registry."""

from __future__ import annotations

from typing import Any

from fhir_ops.operations.registry import OperationRegistry
from fhir_ops.search.parameters import params_for, supported_types


def capability_statement(
    *, base_url: str, registry: OperationRegistry, software_version: str
) -> dict[str, Any]:
    resources = []
    for resource_type in supported_types():
        params = params_for(resource_type)
        entry: dict[str, Any] = {
            "type": resource_type,
            "interaction": [
                {"code": c} for c in ("read", "vread", "create", "update", "delete", "search-type")
            ],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": False,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchInclude": [f"{resource_type}:{p.name}" for p in params.values() if p.type == "reference"],
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
        "rest": [
            {
                "mode": "server",
                "documentation": "Search: _count, _offset, _sort (_id, _lastUpdated, date parameters), "
                "_include (reference parameters), _summary=count. Unknown parameters are reported in an "
                "OperationOutcome, or rejected with Prefer: handling=strict.",
                "security": {"description": "The FHIR facade is meant to run behind the hospital's gateway."},
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [
                    {"name": op.code, "definition": op.url} for op in registry if "system" in op.levels
                ],
            }
        ],
    }
