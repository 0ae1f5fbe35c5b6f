from __future__ import annotations

from fhir.resources.R4B.library import Library
from fhir.resources.R4B.measure import Measure

from measures.catalog import indicator_specs
from measures.catalog.measures import IDENTIFIER_SYSTEM, catalog_libraries, catalog_measures, catalog_rows


def test_measures_validate_and_carry_the_key() -> None:
    measures = catalog_measures()
    assert len(measures) == len(indicator_specs())
    for m in measures:
        Measure.model_validate(m)
        assert m["identifier"][0]["system"] == IDENTIFIER_SYSTEM
        assert m["url"] == f"http://medqc.org/fhir/Measure/{m['id']}"
        assert m["library"][0].startswith("http://medqc.org/fhir/Library/QC")
        group = m["group"][0]
        expressions = [p["criteria"]["expression"] for p in group["population"]]
        assert expressions == [f"{m['id']} Initial Population", f"{m['id']} Denominator", f"{m['id']} Numerator"]
        assert group["stratifier"][0]["criteria"]["expression"] == f"{m['id']} Needs Review"


def test_libraries_validate() -> None:
    libraries = catalog_libraries()
    assert {lib["name"] for lib in libraries} >= {"FHIRHelpers", "MedQCFacts", "QCAf", "QCStemi"}
    for lib in libraries:
        Library.model_validate(lib)
        assert lib["content"][0]["contentType"] == "text/cql"


def test_catalog_rows() -> None:
    rows = catalog_rows()
    assert {r["id"] for r in rows} >= {"af-rhythm-control", "stemi-reperfusion-24h", "stk-evt-24h"}
    assert any(r["core"] == "core" for r in rows)
