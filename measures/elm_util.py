"""Small readers over ELM JSON: includes, value sets and the data types a library retrieves."""

from __future__ import annotations

from typing import Any

FHIR_NS = "{http://hl7.org/fhir}"


def elm_translator(elm: dict[str, Any]) -> str:
    """The translator identity an ELM records (``CqlToElmInfo`` version and signature level).

    Libraries translated by different translators (or model infos) cannot be mixed: a function call
    resolves by the operand types its caller's translator saw.

    >>> elm_translator({"library": {"annotation": [{"type": "CqlToElmInfo", "translatorVersion": "3.10.0",
    ...     "signatureLevel": "Overloads"}]}})
    '3.10.0/Overloads'
    >>> elm_translator({"library": {}})
    'unknown'
    """
    for note in elm.get("library", {}).get("annotation", []):
        if isinstance(note, dict) and note.get("type") == "CqlToElmInfo":
            return f"{note.get('translatorVersion')}/{note.get('signatureLevel')}"
    return "unknown"


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


def elm_valuesets(elm: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(name, url, version) of each ``valueset`` the library declares."""
    defs = elm.get("library", {}).get("valueSets", {}).get("def", [])
    return [(str(d.get("name")), str(d["id"]), d.get("version")) for d in defs]


def elm_used_valuesets(elm: dict[str, Any]) -> set[str]:
    """Names of this library's value sets that its statements reference (``ValueSetRef`` nodes, and
    the ``valueset`` operand of ``InValueSet``/``AnyInValueSet``, which carries no ``type``).

    >>> sorted(elm_used_valuesets({"library": {"statements": {"def": [
    ...     {"expression": {"type": "ValueSetRef", "name": "Stroke"}},
    ...     {"expression": {"type": "InValueSet", "valueset": {"name": "Falls"}}}]}}}))
    ['Falls', 'Stroke']
    """
    used: set[str] = set()
    stack: list[Any] = [elm.get("library", {}).get("statements", {})]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "ValueSetRef" and not node.get("libraryName") and node.get("name"):
                used.add(str(node["name"]))
            operand = node.get("valueset")
            if isinstance(operand, dict) and operand.get("name") and not operand.get("libraryName"):
                used.add(str(operand["name"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return used


def _statements(elm: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for statement in elm.get("library", {}).get("statements", {}).get("def", []):
        out.setdefault(str(statement.get("name")), []).append(statement)
    return out


def _aliases(elm: dict[str, Any]) -> dict[str, str]:
    """Include alias (``localIdentifier``) → library name (the last segment of the include path)."""
    defs = elm.get("library", {}).get("includes", {}).get("def", [])
    return {
        str(d.get("localIdentifier") or d["path"]): str(d["path"]).rstrip("/").rsplit("/", 1)[-1]
        for d in defs
    }


def reachable(
    elms: dict[str, dict[str, Any]], main: str, expressions: list[str]
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(statements, value sets) the named statements of library ``main`` reach, each as
    (library name, name), following expression and function references across included libraries.

    ``elms`` maps a library name to its ELM. cql-execution evaluates every statement of the main
    library; only the ones a Measure's populations, stratifiers and supplemental data reach are the
    Measure's logic.
    """
    found: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()
    stack: list[tuple[str, str]] = [(main, e) for e in expressions]
    while stack:
        library, name = stack.pop()
        if (library, name) in seen or library not in elms:
            continue
        seen.add((library, name))
        aliases = _aliases(elms[library])
        nodes: list[Any] = list(_statements(elms[library]).get(name, []))
        while nodes:
            node = nodes.pop()
            if isinstance(node, list):
                nodes.extend(node)
                continue
            if not isinstance(node, dict):
                continue
            kind = node.get("type")
            target = (
                aliases.get(str(node.get("libraryName")), library) if node.get("libraryName") else library
            )
            if kind in ("ExpressionRef", "FunctionRef") and node.get("name"):
                stack.append((target, str(node["name"])))
            if kind == "ValueSetRef" and node.get("name"):
                found.add((target, str(node["name"])))
            operand = node.get("valueset")
            if isinstance(operand, dict) and operand.get("name"):
                owner = library
                if operand.get("libraryName"):
                    owner = aliases.get(str(operand["libraryName"]), library)
                found.add((owner, str(operand["name"])))
            nodes.extend(v for v in node.values() if isinstance(v, dict | list))
    return seen, found


def pruned(elm: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    """``elm`` with only the statements named in ``keep`` (and the ``Patient`` context definition).

    >>> elm = {"library": {"statements": {"def": [{"name": "A"}, {"name": "B"}, {"name": "Patient"}]}}}
    >>> [d["name"] for d in pruned(elm, {"A"})["library"]["statements"]["def"]]
    ['A', 'Patient']
    """
    library = elm.get("library", {})
    defs = library.get("statements", {}).get("def", [])
    kept = [d for d in defs if d.get("name") in keep or d.get("name") == "Patient"]
    return {**elm, "library": {**library, "statements": {**library.get("statements", {}), "def": kept}}}
