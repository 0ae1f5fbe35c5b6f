"""Engine results → FHIR R4 MeasureReports (individual | subject-list | summary), validated with R4B."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Literal

from fhir.resources.R4B.measurereport import MeasureReport

from measures.engine import GroupResult, PatientResult, PopulationResult, StratumResult
from measures.period import Period
from measures.scoring import proportion_score

MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
POPULATION_BASIS_URLS = (
    "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis",
    "http://hl7.org/fhir/uv/cqm/StructureDefinition/cqm-populationBasis",
)
ReportType = Literal["individual", "subject-list", "summary"]


def population_basis(measure: dict[str, Any], group: dict[str, Any]) -> str:
    """``boolean`` (patient-based) or the resource type an episode is (e.g. ``Encounter``)."""
    for holder in (group, measure):
        for ext in holder.get("extension", []):
            if ext.get("url") in POPULATION_BASIS_URLS and ext.get("valueCode"):
                return str(ext["valueCode"])
    return "boolean"


def scoring_code(measure: dict[str, Any], group: dict[str, Any]) -> str:
    for holder in (group, measure):
        for coding in (holder.get("scoring") or {}).get("coding", []):
            if coding.get("code"):
                return str(coding["code"])
    return "proportion"


def _codes(measure_group: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for pop in measure_group.get("population", []):
        code = next((c.get("code") for c in pop.get("code", {}).get("coding", [])), None)
        if code:
            out.append((str(code), pop))
    return out


class _Tally:
    """Members of each population (patient ids or episode ids) for one group or stratum."""

    def __init__(self) -> None:
        self.members: dict[str, list[str]] = defaultdict(list)

    def add(self, subject: str, results: list[PopulationResult]) -> None:
        for r in results:
            if r.result:
                self.members[r.population_type].append(subject)

    def counts(self) -> dict[str, int]:
        return {code: len(m) for code, m in self.members.items()}


def _tally_group(
    results: list[tuple[str, GroupResult]], episodic: bool, basis: str
) -> tuple[_Tally, dict[str, _Tally]]:
    total = _Tally()
    strata: dict[str, _Tally] = defaultdict(_Tally)
    for patient_id, group in results:
        if episodic:
            for episode in group.episode_results:
                ref = f"{basis}/{episode.episode_id}"
                total.add(ref, episode.population_results)
                for stratum in episode.stratifier_results:
                    if stratum.result:
                        strata[_stratum_key(stratum)].add(ref, episode.population_results)
        else:
            ref = f"Patient/{patient_id}"
            total.add(ref, group.population_results)
            for stratum in group.stratifier_results:
                if stratum.result:
                    strata[_stratum_key(stratum)].add(ref, group.population_results)
    return total, strata


def _stratum_key(stratum: StratumResult) -> str:
    return stratum.strata_id or stratum.strata_code or "stratifier"


def _score(counts: dict[str, int], scoring: str) -> dict[str, Any] | None:
    if scoring != "proportion":
        return None
    value = proportion_score(counts)
    return None if value is None else {"value": round(value, 6)}


def _populations(
    measure_group: dict[str, Any],
    tally: _Tally,
    *,
    subject_lists: dict[str, str] | None,
) -> list[dict[str, Any]]:
    out = []
    for code, pop in _codes(measure_group):
        if code == "measure-observation":
            continue
        entry: dict[str, Any] = {
            "code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]},
            "count": len(tally.members.get(code, [])),
        }
        if pop.get("id"):
            entry["id"] = pop["id"]
        if subject_lists is not None and code in subject_lists:
            entry["subjectResults"] = {"reference": f"#{subject_lists[code]}"}
        out.append(entry)
    return out


def build_measure_report(
    measure: dict[str, Any],
    results: list[PatientResult],
    *,
    period: Period,
    report_type: ReportType,
    subject: str | None = None,
) -> dict[str, Any]:
    """One MeasureReport for ``results`` (one patient for ``individual``), validated with R4B."""
    by_patient_group = {(r.patient_id, g.group_id): g for r in results for g in r.groups}
    contained: list[dict[str, Any]] = []
    groups_out = []
    for index, measure_group in enumerate(measure.get("group", [])):
        group_id = measure_group.get("id") or f"group-{index + 1}"
        basis = population_basis(measure, measure_group)
        episodic = basis != "boolean"
        group_results = [
            (r.patient_id, by_patient_group[(r.patient_id, group_id)])
            for r in results
            if (r.patient_id, group_id) in by_patient_group
        ]
        tally, strata = _tally_group(group_results, episodic, basis)
        lists = None
        if report_type == "subject-list":
            lists = {}
            for code, members in tally.members.items():
                list_id = f"{group_id}-{code}"
                lists[code] = list_id
                contained.append(_subject_list(list_id, members))
        scoring = scoring_code(measure, measure_group)
        group_out: dict[str, Any] = {
            "id": group_id,
            "population": _populations(measure_group, tally, subject_lists=lists),
        }
        score = _score(tally.counts(), scoring)
        if score is not None:
            group_out["measureScore"] = score
        stratifiers = _stratifiers(measure_group, strata, scoring)
        if stratifiers:
            group_out["stratifier"] = stratifiers
        groups_out.append(group_out)

    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": report_type,
        "measure": _canonical(measure),
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "period": period.fhir(),
        "group": groups_out,
    }
    if measure.get("improvementNotation"):
        report["improvementNotation"] = measure["improvementNotation"]
    if contained:
        report["contained"] = contained
    if subject:
        report["subject"] = {"reference": subject}
    if report_type == "individual" and results:
        evaluated = sorted({ref for r in results for ref in r.evaluated_resource})
        if evaluated:
            report["evaluatedResource"] = [{"reference": ref} for ref in evaluated]
    MeasureReport.model_validate(report)  # strict: MedQC never emits an invalid report
    return report


def _subject_list(list_id: str, members: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "List",
        "id": list_id,
        "status": "current",
        "mode": "snapshot",
        "entry": [{"item": {"reference": ref}} for ref in members],
    }


def _stratifiers(
    measure_group: dict[str, Any], strata: dict[str, _Tally], scoring: str
) -> list[dict[str, Any]]:
    out = []
    for index, strat in enumerate(measure_group.get("stratifier", [])):
        key = strat.get("id") or (strat.get("code") or {}).get("text") or f"stratifier-{index + 1}"
        tally = strata.get(key) or strata.get((strat.get("code") or {}).get("text", "")) or _Tally()
        stratum: dict[str, Any] = {
            "value": {"text": "true"},
            "population": [
                {
                    "code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]},
                    "count": len(tally.members.get(code, [])),
                }
                for code, _ in _codes(measure_group)
                if code != "measure-observation"
            ],
        }
        score = _score(tally.counts(), scoring)
        if score is not None:
            stratum["measureScore"] = score
        entry: dict[str, Any] = {"stratum": [stratum]}
        if strat.get("id"):
            entry["id"] = strat["id"]
        if strat.get("code"):
            entry["code"] = [strat["code"]]
        out.append(entry)
    return out


def _canonical(measure: dict[str, Any]) -> str:
    url = measure.get("url") or f"Measure/{measure.get('id')}"
    return f"{url}|{measure['version']}" if measure.get("version") else str(url)
