"""The generated catalog is stable and complete: the golden copy in measures/catalog/generated/ equals what
the specs generate now (a spec or generator change shows as a reviewable diff: run
``medqc catalog generate``), and the exported FHIR package is self-contained."""

from __future__ import annotations

import json
from pathlib import Path

from measures.catalog.loader import indicator_specs
from measures.catalog.measures import IDENTIFIER_SYSTEM
from measures.catalog.package import GOLDEN_DIR, export_package, golden_files


def test_golden_copy_matches_the_specs() -> None:
    generated = golden_files()
    committed = {p.name: p.read_text(encoding="utf-8") for p in GOLDEN_DIR.iterdir() if p.is_file()}
    assert sorted(committed) == sorted(generated), "run `medqc catalog generate` and review the diff"
    stale = [name for name, text in generated.items() if committed[name] != text]
    assert not stale, f"generated artefacts changed: {stale[:5]} — run `medqc catalog generate`"


def test_exported_package_is_self_contained(tmp_path: Path) -> None:
    export_package(tmp_path)
    root = tmp_path / "package"
    manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    assert manifest["fhirVersions"] == ["4.0.1"]
    resources = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in root.glob("*.json")
        if p.name not in {"package.json", ".index.json"}
    ]
    by_type: dict[str, list[dict]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    measures = by_type["Measure"]
    assert len(measures) == len(indicator_specs()) == 98
    keys = {i["value"] for m in measures for i in m["identifier"] if i["system"] == IDENTIFIER_SYSTEM}
    assert keys == {s.key for s in indicator_specs()}
    libraries = {f"{lib['url']}|{lib['version']}" for lib in by_type["Library"]}
    valuesets = {vs["url"] for vs in by_type["ValueSet"]}
    for measure in measures:
        assert measure["library"][0] in libraries
        group = measure["group"][0]
        assert {p["criteria"]["language"] for p in group["population"]} == {"text/cql-identifier"}
        assert [e["valueCode"] for e in group["extension"] if e["url"].endswith("populationBasis")] == [
            "Encounter"
        ]
    for lib in by_type["Library"]:
        for dep in lib.get("relatedArtifact", []):
            assert dep["resource"] in libraries, dep
    cql = "".join(p.read_text(encoding="utf-8") for p in (GOLDEN_DIR).glob("*.cql"))
    for url in valuesets:
        assert url in cql
    index = json.loads((root / ".index.json").read_text(encoding="utf-8"))
    assert len(index["files"]) == len(resources)
