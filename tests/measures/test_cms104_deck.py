"""eCQM CMS104 (QI-Core 4.1.1) test deck from ../shared/data/measures/ecqm-cms104: every test case's
expected individual MeasureReport population counts against MedQC's.

No registry package ships a QI-Core model info. MedQC generates its own
(``measures/cql/gen-qicore-modelinfo.mjs`` → ``modelinfo/qicore-modelinfo-4.1.1.xml``): the FHIR R4
classes with elements retyped to CQL System types, retrievable by QI-Core profile URL, plus the
negation profiles and US Core race/ethnicity; ``measures/cql/qicore-source.js`` maps FHIR JSON to those
types at evaluation. The deck's own libraries (CMS104, TJCOverall, CQMCommon, QICoreCommon,
SupplementalDataElements, FHIRHelpers 4.4.000), Measure and value sets are loaded as they are.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from measures.engine import CqlEngine, translate_cql
from measures.engine.worker import CQL_DIR
from measures.evaluate import evaluate_measure
from tests.measures.memory_repo import MemoryRepository

DECK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "measures" / "ecqm-cms104"
MEASURE_ID = "CMS104FHIRSTKDCAntithrombotic"
EXPECTED_CASES = 82

needs_deck = pytest.mark.skipif(not DECK.is_dir(), reason="../shared/data/measures/ecqm-cms104 not present")


def deck_cases() -> list[Path]:
    return sorted(p for p in DECK.iterdir() if p.is_dir() and p.name != "library") if DECK.is_dir() else []


def _library(cql: str) -> dict[str, Any]:
    header = re.search(r"^\s*library\s+(\w+)\s+version\s+'([^']+)'", cql, re.MULTILINE)
    assert header is not None
    name, version = header.groups()
    return {
        "resourceType": "Library",
        "id": name,
        "url": f"https://madie.cms.gov/Library/{name}",
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


def _expected(case_dir: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(
        next(case_dir.glob("MeasureReport-*.json")).read_text(encoding="utf-8")
    )
    return report


def _counts(report: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p.get("count", 0) for p in report["group"][0]["population"]}


@pytest.fixture(scope="module")
def deck_repo() -> MemoryRepository:
    library = DECK / "library"
    repo = MemoryRepository()
    repo.put(json.loads((library / f"Measure-{MEASURE_ID}.json").read_text(encoding="utf-8")))
    for path in sorted((library / "cql").glob("*.cql")):
        repo.put(_library(path.read_text(encoding="utf-8")))
    for path in sorted((library / "valuesets").glob("*.json")):
        repo.put(json.loads(path.read_text(encoding="utf-8")))
    for case in deck_cases():
        for path in sorted(case.glob("*.json")):
            if not path.name.startswith("MeasureReport-"):
                repo.put(json.loads(path.read_text(encoding="utf-8")))
    return repo


def test_qicore_model_info_is_generated_and_up_to_date() -> None:
    script = (
        "import {generate, fhirModelInfoXml, OUTPUT} from './gen-qicore-modelinfo.mjs';"
        "import {readFileSync} from 'node:fs';"
        "process.exit(generate(fhirModelInfoXml()) === readFileSync(OUTPUT, 'utf8') ? 0 : 3);"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=CQL_DIR, check=False, capture_output=True
    )
    assert done.returncode == 0, "run `node gen-qicore-modelinfo.mjs` in measures/cql"


@needs_deck
async def test_deck_libraries_translate_without_errors(cql: CqlEngine) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted((DECK / "library" / "cql").glob("*.cql"))]
    libraries = await translate_cql(texts, engine=cql)
    assert {lib.name for lib in libraries} == {
        "CMS104FHIRSTKDCAntithrombotic",
        "CQMCommon",
        "FHIRHelpers",
        "QICoreCommon",
        "SupplementalDataElements",
        "TJCOverall",
    }
    assert all(lib.elm is not None and not lib.fatal for lib in libraries)


@needs_deck
def test_deck_has_every_case() -> None:
    assert len(deck_cases()) == EXPECTED_CASES


@needs_deck
@pytest.mark.parametrize("case_dir", deck_cases(), ids=lambda p: p.name[:8])
async def test_cms104_case(deck_repo: MemoryRepository, cql: CqlEngine, case_dir: Path) -> None:
    expected = _expected(case_dir)
    report = await evaluate_measure(
        deck_repo,
        cql=cql,
        measure_id=MEASURE_ID,
        period_start=expected["period"]["start"],
        period_end=expected["period"]["end"],
        report_type="subject",
        subject=f"Patient/{case_dir.name}",
    )
    assert _counts(report) == _counts(expected)


@needs_deck
async def test_cms104_population_is_the_sum_of_the_cases(deck_repo: MemoryRepository, cql: CqlEngine) -> None:
    cases = deck_cases()
    period = _expected(cases[0])["period"]
    report = await evaluate_measure(
        deck_repo,
        cql=cql,
        measure_id=MEASURE_ID,
        period_start=period["start"],
        period_end=period["end"],
        report_type="population",
        subject=None,
    )
    total: dict[str, int] = {}
    for case in cases:
        assert _expected(case)["period"] == period
        for code, count in _counts(_expected(case)).items():
            total[code] = total.get(code, 0) + count
    assert _counts(report) == total
