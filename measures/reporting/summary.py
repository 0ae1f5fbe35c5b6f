"""Shape a DEQM summary MeasureReport for the regional platform from the hospital's ``$evaluate-measure``.

The counts are those of ``$evaluate-measure`` for the period (one engine call, subject-list, so the
members of each population are known); the report adds what a regional platform needs: ``reporter``,
``meta.profile`` (DEQM summary), ``improvementNotation``, the DEQM scoring extension, a stable
``identifier``/``id`` (see :mod:`measures.reporting.identity`) and two stratifiers:

- ``department``: the Encounter's ``serviceType`` (else its ``serviceProvider`` display), else
  ``unspecified`` (also for patient-based measures);
- ``qc-outcome``: the denominator (less exclusions and exceptions) split into ``needs-review`` (the
  Measure's own ``needs-review`` stratifier, evaluated by its CQL: the verdict rests on a fact the
  record leaves unknown), ``met`` and ``not-met`` (numerator or not, among the others). Measures
  without that stratifier have no needs-review results.

Needs-review results are counted so that the submission can be flagged for a person's approval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.measurereport import MeasureReport

from fhir_ops.store.protocol import ResourceRepository
from measures.engine import CqlEngine
from measures.evaluate import evaluate_measure, load_measure
from measures.period import Period, parse_period
from measures.report import MEASURE_POPULATION, scoring_code
from measures.reporting.identity import IDENTIFIER_SYSTEM, key_of, report_id
from measures.scoring import proportion_score

DEQM_SUMMARY = "http://hl7.org/fhir/uv/deqm/StructureDefinition/deqm-summarymeasurereport"
EXT_DEQM_SCORING = "http://hl7.org/fhir/uv/deqm/StructureDefinition/deqm-measureScoring"
CS_SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
CS_STRATIFIER = "http://medqc.org/fhir/CodeSystem/report-stratifier"
CS_OUTCOME = "http://medqc.org/fhir/CodeSystem/qc-outcome"
NEEDS_REVIEW = "needs-review"
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("met", "Met"),
    ("not-met", "Not met"),
    ("needs-review", "Needs review"),
)
UNSPECIFIED = "unspecified"
#: References per search request when looking members up (keeps URLs and IN lists short).
BATCH = 100


#: What the app does before a Measure is rated for a period (``Services.before_rating``: judge the
#: period's encounters so that the fact Observations the indicator's CQL reads are current).
BeforeRating = Callable[[dict[str, Any], Period], Awaitable[list[str] | None]]


@dataclass(frozen=True, slots=True)
class SummaryReport:
    """A summary report ready to submit, and how many of its results need a person's review."""

    measure_id: str
    key: str
    report: dict[str, Any]
    needs_review: int


async def summary_report(
    repo: ResourceRepository,
    *,
    measure_id: str,
    period_start: str,
    period_end: str,
    reporter: str,
    cql: CqlEngine,
    before_rating: BeforeRating,
) -> SummaryReport:
    """The DEQM summary report of ``measure_id`` for the period, reported by ``reporter``
    (``Organization/<id>``), exactly as ``$evaluate-measure`` rates it (``before_rating`` first). Errors
    are those of ``$evaluate-measure`` (404 unknown Measure, 400 bad period, 422 logic that cannot run)."""
    measure = await load_measure(repo, measure_id=measure_id, measure_url=None)
    candidates = await before_rating(
        measure, parse_period(period_start, period_end, default=measure.get("effectivePeriod"))
    )
    listed = await evaluate_measure(
        repo,
        measure_id=measure_id,
        period_start=period_start,
        period_end=period_end,
        report_type="subject-list",
        subject=None,
        cql=cql,
        candidates=candidates,
    )
    lists = {
        str(c.get("id")): [str(e["item"]["reference"]) for e in c.get("entry") or []]
        for c in listed.get("contained") or []
        if c.get("resourceType") == "List"
    }
    groups = [(group, _members(group, lists)) for group in listed.get("group") or []]
    all_members = sorted({ref for _, members in groups for refs in members.values() for ref in refs})
    departments = await _departments(repo, all_members)
    measure_groups = {str(g.get("id")): g for g in measure.get("group") or []}
    review_count = 0
    out_groups = []
    for group, members in groups:
        scoring = scoring_code(measure, measure_groups.get(str(group.get("id")), {}))
        review = _review_counts(group)
        review_count += _eligible(review)
        out_groups.append(_summary_group(group, members, departments, review, scoring))
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "meta": {"profile": [DEQM_SUMMARY]},
        "extension": [
            {
                "url": EXT_DEQM_SCORING,
                "valueCodeableConcept": {
                    "coding": [{"system": CS_SCORING, "code": scoring_code(measure, {})}]
                },
            }
        ],
        "status": "complete",
        "type": "summary",
        "measure": listed["measure"],
        "date": listed["date"],
        "reporter": {"reference": reporter},
        "period": listed["period"],
        "group": out_groups,
    }
    if measure.get("improvementNotation"):
        report["improvementNotation"] = measure["improvementNotation"]
    key = key_of(report)
    report["id"] = report_id(key)
    report["identifier"] = [{"system": IDENTIFIER_SYSTEM, "value": key}]
    MeasureReport.model_validate(report)  # MedQC never sends an invalid report
    return SummaryReport(measure_id=measure_id, key=key, report=report, needs_review=review_count)


def _code(population: dict[str, Any]) -> str:
    return str(population["code"]["coding"][0]["code"])


def _members(group: dict[str, Any], lists: dict[str, list[str]]) -> dict[str, list[str]]:
    """Population code → member references (from the subject-list report's contained Lists)."""
    out: dict[str, list[str]] = {}
    for population in group.get("population") or []:
        ref = str((population.get("subjectResults") or {}).get("reference", "")).removeprefix("#")
        out[_code(population)] = lists.get(ref, [])
    return out


def _counts(element: dict[str, Any]) -> dict[str, int]:
    return {_code(p): int(p.get("count", 0)) for p in element.get("population") or []}


def _review_counts(group: dict[str, Any]) -> dict[str, int]:
    """Population counts of the Measure's own ``needs-review`` stratum (``true``), if it has one."""
    for stratifier in group.get("stratifier") or []:
        if stratifier.get("id") != NEEDS_REVIEW:
            continue
        for stratum in stratifier.get("stratum") or []:
            if (stratum.get("value") or {}).get("text") == "true":
                return _counts(stratum)
    return {}


def _eligible(counts: dict[str, int]) -> int:
    """Denominator members that are neither excluded nor excepted."""
    return (
        counts.get("denominator", 0)
        - counts.get("denominator-exclusion", 0)
        - counts.get("denominator-exception", 0)
    )


def _outcome_counts(
    group: dict[str, Any], review: dict[str, int], codes: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Population counts of the met / not-met / needs-review strata of the denominator.

    >>> g = {"population": [{"code": {"coding": [{"code": c}]}, "count": n} for c, n in
    ...      [("initial-population", 5), ("denominator", 5), ("numerator", 2)]]}
    >>> _outcome_counts(g, {"initial-population": 1, "denominator": 1, "numerator": 0},
    ...                 ["initial-population", "denominator", "numerator"])["not-met"]
    {'initial-population': 2, 'denominator': 2, 'numerator': 0}
    """
    total = _counts(group)
    others = {c: total.get(c, 0) - review.get(c, 0) for c in {*total, *review}}

    def met(counts: dict[str, int]) -> int:
        return counts.get("numerator", 0) - counts.get("numerator-exclusion", 0)

    def stratum(size: int, numerator: int) -> dict[str, int]:
        # Each stratum holds eligible denominator members only: in the initial population and the
        # denominator, excluded from nothing; the numerator counts those met.
        return {
            c: numerator if c == "numerator" else size if c in {"initial-population", "denominator"} else 0
            for c in codes
        }

    return {
        "met": stratum(met(others), met(others)),
        "not-met": stratum(max(0, _eligible(others) - met(others)), 0),
        NEEDS_REVIEW: stratum(_eligible(review), met(review)),
    }


def _summary_group(
    group: dict[str, Any],
    members: dict[str, list[str]],
    departments: dict[str, str],
    review: dict[str, int],
    scoring: str,
) -> dict[str, Any]:
    populations = []
    for population in group.get("population") or []:
        entry = {k: v for k, v in population.items() if k != "subjectResults"}
        populations.append(entry)
    out: dict[str, Any] = {"id": group.get("id"), "population": populations}
    if "measureScore" in group:
        out["measureScore"] = group["measureScore"]
    by_department: dict[str, set[str]] = defaultdict(set)
    for refs in members.values():
        for ref in refs:
            by_department[departments.get(ref, UNSPECIFIED)].add(ref)
    codes = [_code(p) for p in populations]
    outcomes = _outcome_counts(group, review, codes)
    out["stratifier"] = [
        *(group.get("stratifier") or []),
        _stratifier(
            "department",
            "Department",
            [
                ({"text": name}, {c: sum(1 for r in members.get(c, []) if r in refs) for c in codes})
                for name, refs in sorted(by_department.items())
            ],
            scoring,
        ),
        _stratifier(
            "qc-outcome",
            "Quality-control outcome",
            [
                (
                    {"coding": [{"system": CS_OUTCOME, "code": code, "display": display}], "text": display},
                    outcomes[code],
                )
                for code, display in OUTCOMES
            ],
            scoring,
        ),
    ]
    return out


def _stratifier(
    code: str, display: str, strata: Sequence[tuple[dict[str, Any], dict[str, int]]], scoring: str
) -> dict[str, Any]:
    out_strata = []
    for value, counts in strata:
        stratum: dict[str, Any] = {
            "value": value,
            "population": [
                {"code": {"coding": [{"system": MEASURE_POPULATION, "code": c}]}, "count": n}
                for c, n in counts.items()
            ],
        }
        score = proportion_score(counts) if scoring == "proportion" else None
        if score is not None:
            stratum["measureScore"] = {"value": round(score, 6)}
        out_strata.append(stratum)
    return {
        "id": code,
        "code": [{"coding": [{"system": CS_STRATIFIER, "code": code, "display": display}], "text": display}],
        "stratum": out_strata,
    }


def _batches(refs: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(refs), BATCH):
        yield refs[start : start + BATCH]


def department_of(encounter: dict[str, Any]) -> str:
    """The department an Encounter belongs to (``serviceType``, else ``serviceProvider``'s display).

    >>> department_of({"serviceType": {"coding": [{"code": "CARD", "display": "心内科"}]}})
    '心内科'
    >>> department_of({"serviceProvider": {"display": "神经内科"}})
    '神经内科'
    >>> department_of({})
    'unspecified'
    """
    service = encounter.get("serviceType") or {}
    if service.get("text"):
        return str(service["text"])
    for coding in service.get("coding") or []:
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    provider = encounter.get("serviceProvider") or {}
    return str(provider.get("display") or UNSPECIFIED)


async def _departments(repo: ResourceRepository, refs: Sequence[str]) -> dict[str, str]:
    ids = [ref.split("/", 1)[1] for ref in refs if ref.startswith("Encounter/")]
    out: dict[str, str] = {}
    for batch in _batches(ids):
        found = await repo.search("Encounter", [("_id", ",".join(batch)), ("_count", str(len(batch)))])
        for encounter in found.matches:
            out[f"Encounter/{encounter['id']}"] = department_of(encounter)
    return out
