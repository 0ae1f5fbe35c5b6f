"""Small readers over ELM JSON: includes, value sets and the data types a library retrieves."""

from __future__ import annotations

from typing import Any

FHIR_NS = "{http://hl7.org/fhir}"


def elm_includes(elm: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(library name, version) of each ``include``."""
    defs = elm.get("library", {}).get("includes", {}).get("def", [])
    return [(d["path"], d.get("version")) for d in defs]


def elm_valueset_urls(elm: dict[str, Any]) -> list[str]:
    defs = elm.get("library", {}).get("valueSets", {}).get("def", [])
    return [d["id"] for d in defs]


def elm_retrieved_types(elm: dict[str, Any]) -> set[str]:
    """FHIR resource types named by ``Retrieve`` expressions anywhere in the library.

    >>> sorted(elm_retrieved_types({"x": [{"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Encounter"}]}))
    ['Encounter']
    """
    found: set[str] = set()
    stack: list[Any] = [elm]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "Retrieve" and isinstance(node.get("dataType"), str):
                data_type = node["dataType"]
                found.add(data_type.removeprefix(FHIR_NS).split("}")[-1])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
