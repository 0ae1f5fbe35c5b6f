"""Published eCQM packages over REST, as a new user loads them (../shared/data/measures/ecqm-*).

Per deck: one transaction with the Measure, every Library and every ValueSet exactly as shipped,
then one transaction per test case with the case's resources as they are (Coverage, AdverseEvent,
Organization, ... included). ``$evaluate-measure`` for each test patient must give the expected
MeasureReport's population counts in every group (groups matched by position); a ``population``
report over the cases must equal the sum of their expected reports; the ``subject-list`` report
must list as many subjects as it counts.

MADiE exports each test case as its own sandbox, and cases reuse resource ids (``Encounter-1`` in
many ControllingHighBloodPressure cases, the same Patient id in two cases): one server holds one
resource per id. So each case's resources are written just before the case is evaluated, and the
population reports cover the cases whose resource ids no other case of the deck uses.

Compared: the standard population codes (initial-population, denominator, ..., measure-population-
exclusion). Not compared: MADiE's ``denominator-observation`` / ``numerator-observation`` /
``measure-population-observation`` entries, which are not QM IG population codes (their ``count``
carries an observation value whose aggregation MADiE does not define); MedQC reports a standard
``measure-observation`` population instead.

Cases known not to match are listed in :data:`SKIP` with the reason, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.live import live_server

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "measures"
DECKS = (
    "ecqm-cms104",
    "ecqm-CMS1017HHFIFHIR",
    "ecqm-CMS986FHIRMalnutritionScore",
    "ecqm-ControllingHighBloodPressureFHIR",
)
OBSERVATION_LIKE = ("observation",)  # MADiE's non-standard *-observation entries (see the docstring)

_MAJOR_INJURIES = (
    "the package lacks value set 'Major Injuries' (2.16.840.1.113762.1.4.1147.174) that the Numerator "
    "reaches for this case's fall diagnoses: MedQC answers 422 naming it"
)
_NUMEX_OF_DENEX = (
    "MADiE's expected report counts a numerator exclusion for an episode that is denominator-excluded "
    "and not in the numerator; per the QM IG (and fqm-execution) a numerator exclusion is a subset of "
    "the numerator"
)
SKIP: dict[str, str] = {
    **dict.fromkeys(
        (
            "07dfba42",
            "0884b17b",
            "0dfafc1a",
            "10004227",
            "212537db",
            "3279a237",
            "3c34a5af",
            "404570c9",
            "4072632a",
            "5ff2713d",
            "788de509",
            "7c4f1e55",
            "8f14c048",
            "966cc666",
            "972573e8",
            "a2630a47",
            "c86a4e13",
            "e6d91b78",
            "f1c489fe",
            "f4f2278b",
            "fd4ea84b",
        ),
        _MAJOR_INJURIES,
    ),
    **dict.fromkeys(("21d7f7e1", "4d82afdc", "76c1dbbc", "951a2d40"), _NUMEX_OF_DENEX),
}


@dataclass(frozen=True)
class Case:
    deck: str
    directory: Path

    @property
    def patient(self) -> str:
        return self.directory.name

    def expected(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(
            next(self.directory.glob("MeasureReport-*.json")).read_text("utf-8")
        )
        return report

    def resources(self) -> list[dict[str, Any]]:
        return [
            json.loads(p.read_text("utf-8"))
            for p in sorted(self.directory.glob("*.json"))
            if not p.name.startswith("MeasureReport-")
        ]


def _deck_cases(deck: str) -> list[Case]:
    root = DATA / deck
    folder = root / "tests" if (root / "tests").is_dir() else root
    if not folder.is_dir():
        return []
    return [Case(deck, p) for p in sorted(folder.iterdir()) if p.is_dir() and p.name != "library"]


def _package(deck: str) -> list[dict[str, Any]]:
    """The measure package as shipped: Measure, Libraries (JSON, or CQL files for CMS104), ValueSets."""
    root = DATA / deck
    files = [*root.glob("Measure-*.json"), *root.glob("library/*.json"), *root.glob("valueset/*.json")]
    files += [*root.glob("library/valuesets/*.json")]
    resources = [json.loads(p.read_text("utf-8")) for p in sorted(set(files))]
    resources += [_cql_library(p.read_text("utf-8")) for p in sorted(root.glob("library/cql/*.cql"))]
    return list({(r["resourceType"], r["id"]): r for r in resources}.values())  # CMS104 ships its Measure twice


def _cql_library(cql: str) -> dict[str, Any]:
    import base64
    import re

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


def _transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }


def _counts(group: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for pop in group.get("population", []):
        code = pop["code"]["coding"][0]["code"]
        if not any(word in code for word in OBSERVATION_LIKE):
            out[code] = out.get(code, 0) + int(pop.get("count", 0))
    return out


CASES = [c for deck in DECKS for c in _deck_cases(deck)]
needs_data = pytest.mark.skipif(not CASES, reason="../shared/data/measures not present")


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live MedQC with every deck's package and test patients loaded over REST."""
    tmp = tmp_path_factory.mktemp("ecqm")
    settings = make_settings("sqlite", tmp, seed_catalog=False, cql_workers=2, elm_cache_dir="var/elm-cache")
    with live_server(settings) as base:
        url = f"{base}/fhir"
        for deck in DECKS:
            if not (DATA / deck).is_dir():
                continue
            loaded = httpx.post(url, json=_transaction(_package(deck)), timeout=300)
            assert loaded.status_code == 200, loaded.text[:2000]
        yield url


def _load(fhir: str, cases: list[Case]) -> None:
    loaded = httpx.post(fhir, json=_transaction([r for c in cases for r in c.resources()]), timeout=300)
    assert loaded.status_code == 200, loaded.text[:2000]


def _measure_id(deck: str) -> str:
    root = DATA / deck
    path = next(iter([*root.glob("Measure-*.json"), *root.glob("library/Measure-*.json")]))
    return str(json.loads(path.read_text("utf-8"))["id"])


def _evaluate(fhir: str, deck: str, period: dict[str, str], **params: str) -> httpx.Response:
    query = {"periodStart": period["start"], "periodEnd": period["end"], **params}
    return httpx.get(f"{fhir}/Measure/{_measure_id(deck)}/$evaluate-measure", params=query, timeout=600)


@needs_data
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.deck.removeprefix('ecqm-')}-{c.patient[:8]}")
def test_case_matches_expected_report(fhir: str, case: Case) -> None:
    if case.patient[:8] in SKIP:
        pytest.skip(SKIP[case.patient[:8]])
    expected = case.expected()
    _load(fhir, [case])
    answer = _evaluate(fhir, case.deck, expected["period"], subject=f"Patient/{case.patient}")
    assert answer.status_code == 200, answer.text[:1000]
    report = answer.json()
    assert report["type"] == "individual"
    assert len(report["group"]) == len(expected["group"])
    for got, want in zip(report["group"], expected["group"], strict=True):
        assert _counts(got) == _counts(want)


def _matching(deck: str) -> list[Case]:
    """The deck's cases expected to match whose resource ids no other case uses."""
    cases = _deck_cases(deck)
    owners: dict[tuple[str, str], set[str]] = {}
    for case in cases:
        for r in case.resources():
            owners.setdefault((r["resourceType"], r["id"]), set()).add(case.patient)
    shared = {p for o in owners.values() if len(o) > 1 for p in o}
    return [c for c in cases if c.patient[:8] not in SKIP and c.patient not in shared]


def _group_of(fhir: str, deck: str, cases: list[Case]) -> str:
    group_id = f"deck-{deck.removeprefix('ecqm-').lower()}"
    group = {
        "resourceType": "Group",
        "id": group_id,
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{c.patient}"}} for c in cases],
    }
    assert httpx.put(f"{fhir}/Group/{group_id}", json=group, timeout=60).status_code in (200, 201)
    return f"Group/{group_id}"


@needs_data
@pytest.mark.parametrize("deck", DECKS)
def test_population_report_is_the_sum_of_the_cases(fhir: str, deck: str) -> None:
    cases = _matching(deck)
    _load(fhir, cases)
    period = cases[0].expected()["period"]
    subject = _group_of(fhir, deck, cases)
    answer = _evaluate(fhir, deck, period, subject=subject, reportType="population")
    assert answer.status_code == 200, answer.text[:1000]
    report = answer.json()
    assert report["type"] == "summary"
    for index, group in enumerate(report["group"]):
        total: dict[str, int] = {}
        for case in cases:
            assert case.expected()["period"] == period
            for code, count in _counts(case.expected()["group"][index]).items():
                total[code] = total.get(code, 0) + count
        assert _counts(group) == total


@needs_data
@pytest.mark.parametrize("deck", DECKS)
def test_subject_list_lists_what_it_counts(fhir: str, deck: str) -> None:
    cases = _matching(deck)
    _load(fhir, cases)
    period = cases[0].expected()["period"]
    answer = _evaluate(fhir, deck, period, subject=_group_of(fhir, deck, cases), reportType="subject-list")
    assert answer.status_code == 200, answer.text[:1000]
    report = answer.json()
    lists = {c["id"]: c for c in report.get("contained", []) if c["resourceType"] == "List"}
    listed = 0
    for group in report["group"]:
        for pop in group["population"]:
            if pop["count"] and "subjectResults" in pop:
                members = lists[pop["subjectResults"]["reference"].removeprefix("#")]["entry"]
                if pop["code"]["coding"][0]["code"] != "measure-observation":
                    assert len(members) == pop["count"]
                listed += len(members)
    assert listed > 0


@needs_data
def test_a_case_reaching_an_absent_value_set_is_a_422_naming_it(fhir: str) -> None:
    deck = "ecqm-CMS1017HHFIFHIR"
    case = next(c for c in _deck_cases(deck) if SKIP.get(c.patient[:8]) == _MAJOR_INJURIES)
    _load(fhir, [case])
    answer = _evaluate(fhir, deck, case.expected()["period"], subject=f"Patient/{case.patient}")
    assert answer.status_code == 422
    assert "2.16.840.1.113762.1.4.1147.174" in json.dumps(answer.json())


@needs_data
def test_absent_unused_value_sets_are_reported_as_warnings(fhir: str) -> None:
    deck = "ecqm-CMS986FHIRMalnutritionScore"
    case = _matching(deck)[0]
    _load(fhir, [case])
    report = _evaluate(fhir, deck, case.expected()["period"], subject=f"Patient/{case.patient}").json()
    outcome = next(c for c in report["contained"] if c["resourceType"] == "OperationOutcome")
    assert any("2.16.840.1.113762.1.4.1021.120" in i["diagnostics"] for i in outcome["issue"])
    assert {i["severity"] for i in outcome["issue"]} == {"warning"}
