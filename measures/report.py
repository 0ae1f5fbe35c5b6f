"""Engine results → FHIR R4 MeasureReports (individual | subject-list | summary), validated with R4B.

Scoring follows the Quality Measure IG: proportion, ratio (with measure observations when the
group defines them), continuous variable (measure-observation population and its aggregate method),
cohort; the group-level ``cqfm-scoring`` extension overrides ``Measure.scoring``. Groups,
populations and stratifiers are matched to the engine's results by position and id, so measures
without ids work. Stratifiers give one stratum per value (boolean ones ``true``/``false``;
component stratifiers one per combination). Supplemental data: an individual report states each
value (resources as evaluated resources, codes as contained Observations); a summary counts the
patients per value (contained Observations with ``valueInteger``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from fhir.resources.R4B.measurereport import MeasureReport

from measures.engine import GroupResult, PatientResult, PopulationResult, ReportValue, StratumResult
from measures.period import Period
from measures.scoring import aggregate, proportion_score, ratio_score

MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
CQFM = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/"
CQM = "http://hl7.org/fhir/uv/cqm/StructureDefinition/"
CRITERIA_REFERENCE = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-criteriaReference"
#: The aggregate of a measure-observation population's observations (MedQC extension).
OBSERVATION_AGGREGATE = "http://medqc.org/fhir/StructureDefinition/measure-observation-aggregate"
#: Points at a contained OperationOutcome with the evaluation's warnings (MedQC extension).
EVALUATION_OUTCOME = "http://medqc.org/fhir/StructureDefinition/evaluation-outcome"
ReportType = Literal["individual", "subject-list", "summary"]
OBSERVATION = "measure-observation"


def _extension(holder: dict[str, Any], name: str) -> dict[str, Any] | None:
    urls = (CQFM + "cqfm-" + name, CQM + "cqm-" + name)
    return next((e for e in holder.get("extension", []) if e.get("url") in urls), None)


def population_basis(measure: dict[str, Any], group: dict[str, Any]) -> str:
    """``boolean`` (patient-based) or the resource type an episode is (e.g. ``Encounter``)."""
    for holder in (group, measure):
        ext = _extension(holder, "populationBasis")
        if ext and ext.get("valueCode"):
            return str(ext["valueCode"])
    return "boolean"


def scoring_code(measure: dict[str, Any], group: dict[str, Any]) -> str:
    """The group's scoring: its ``cqfm-scoring`` extension, else ``Measure.scoring``, else cohort when
    the group has only an initial population, else proportion."""
    ext = _extension(group, "scoring")
    for concept in ((ext or {}).get("valueCodeableConcept"), measure.get("scoring")):
        for coding in (concept or {}).get("coding", []):
            if coding.get("code"):
                return str(coding["code"])
    codes = {code for code, _ in _codes(group)}
    return "cohort" if codes <= {"initial-population"} else "proportion"


def _codes(measure_group: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for pop in measure_group.get("population", []):
        code = next((c.get("code") for c in pop.get("code", {}).get("coding", [])), None)
        if code:
            out.append((str(code), pop))
    return out


@dataclass(frozen=True, slots=True)
class _Population:
    """A population of the Measure group and how to find its engine result."""

    index: int
    code: str
    id: str | None
    expression: str | None
    aggregate_method: str | None
    criteria_reference: str | None

    def matches(self, result: PopulationResult) -> bool:
        if result.population_type != self.code:
            return False
        if self.id and result.population_id:
            return result.population_id == self.id
        if self.expression and result.criteria_expression:
            return result.criteria_expression == self.expression
        return True


def _populations_of(measure_group: dict[str, Any]) -> list[_Population]:
    out = []
    for index, (code, pop) in enumerate(_codes(measure_group)):
        method = _extension(pop, "aggregateMethod")
        reference = _extension(pop, "criteriaReference")
        out.append(
            _Population(
                index,
                code,
                pop.get("id"),
                (pop.get("criteria") or {}).get("expression"),
                str(method.get("valueCode") or method.get("valueString") or "") or None if method else None,
                str(reference.get("valueString") or "") or None if reference else None,
            )
        )
    return out


@dataclass(slots=True)
class _Tally:
    """Members of each population (by population index) and the observations of each MO population."""

    members: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    observations: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, subject: str, pops: Sequence[_Population], results: Sequence[PopulationResult]) -> None:
        for pop in pops:
            result = next((r for r in results if pop.matches(r)), None)
            if result is None or not result.result:
                continue
            if pop.code == OBSERVATION:
                values = [v for v in result.observations or [] if v is not None]
                self.observations[pop.index].extend(values)
                if values:
                    self.members[pop.index].append(subject)
            else:
                self.members[pop.index].append(subject)

    def count(self, pop: _Population) -> int:
        if pop.code == OBSERVATION:
            return len(self.observations.get(pop.index, []))
        return len(self.members.get(pop.index, []))

    def counts(self, pops: Sequence[_Population]) -> dict[str, int]:
        out: dict[str, int] = {}
        for pop in pops:
            if pop.code != OBSERVATION:
                out[pop.code] = out.get(pop.code, 0) + self.count(pop)
        return out

    def aggregate(self, pop: _Population) -> float | None:
        return aggregate(pop.aggregate_method or "sum", self.observations.get(pop.index, []))


@dataclass(slots=True)
class _Stratum:
    value: dict[str, Any] | None = None
    components: list[dict[str, Any]] | None = None
    tally: _Tally = field(default_factory=_Tally)


def _concept(value: ReportValue) -> dict[str, Any]:
    """A ReportValue as a CodeableConcept (resources by their reference text)."""
    if value.code is not None:
        coding = {
            k: v for k, v in (("system", value.system), ("code", value.code), ("display", value.display)) if v
        }
        return {"coding": [coding]}
    return {"text": value.reference or value.text or ""}


def _strata_keys(
    result: StratumResult, stratifier: dict[str, Any]
) -> list[tuple[str, dict[str, Any] | None, list[dict[str, Any]] | None]]:
    """The strata a unit falls in for one stratifier: (key, value, components)."""
    if result.components is not None and stratifier.get("component"):
        parts = []
        for comp, values in zip(stratifier["component"], result.components, strict=False):
            first = values[0] if values else ReportValue(text="")
            parts.append(
                (first.key, {"code": comp.get("code") or {"text": "component"}, "value": _concept(first)})
            )
        return [("|".join(k for k, _ in parts), None, [c for _, c in parts])]
    if result.values:
        return [(v.key, _concept(v), None) for v in {v.key: v for v in result.values}.values()]
    text = "true" if result.result else "false"
    return [(f"text:{text}", {"text": text}, None)]


class _GroupTally:
    def __init__(self, measure: dict[str, Any], measure_group: dict[str, Any]) -> None:
        self.group = measure_group
        self.basis = population_basis(measure, measure_group)
        self.episodic = self.basis != "boolean"
        self.scoring = scoring_code(measure, measure_group)
        self.pops = _populations_of(measure_group)
        self.total = _Tally()
        self.strata: list[dict[str, _Stratum]] = [{} for _ in measure_group.get("stratifier", [])]

    def add(self, patient_id: str, group: GroupResult) -> None:
        if self.episodic:
            units = [
                (f"{self.basis}/{ep.episode_id}", ep.population_results, ep.stratifier_results)
                for ep in group.episode_results
            ]
        else:
            units = [(f"Patient/{patient_id}", group.population_results, group.stratifier_results)]
        stratifiers = self.group.get("stratifier", [])
        for ref, populations, strata in units:
            self.total.add(ref, self.pops, populations)
            for position, stratum in enumerate(strata):
                index = stratum.index if stratum.index is not None else position
                if not 0 <= index < len(stratifiers):
                    continue
                for key, value, components in _strata_keys(stratum, stratifiers[index]):
                    slot = self.strata[index].setdefault(key, _Stratum(value, components))
                    slot.tally.add(ref, self.pops, populations)

    def score(self, tally: _Tally) -> float | None:
        counts = tally.counts(self.pops)
        observed = [p for p in self.pops if p.code == OBSERVATION]
        match self.scoring:
            case "proportion":
                return proportion_score(counts)
            case "ratio":
                if not observed:
                    return ratio_score(counts)
                by_target = {self._observed_code(p): tally.aggregate(p) for p in observed}
                return ratio_score(
                    counts,
                    numerator_value=by_target.get("numerator"),
                    denominator_value=by_target.get("denominator"),
                )
            case "continuous-variable":
                return tally.aggregate(observed[0]) if observed else None
            case _:
                return None

    def _observed_code(self, observation: _Population) -> str | None:
        """The code of the population a measure observation observes (its ``criteriaReference``)."""
        target = next((p for p in self.pops if p.id and p.id == observation.criteria_reference), None)
        return target.code if target else None


def _population_entries(
    tally: _GroupTally, counts: _Tally, *, lists: dict[int, str] | None
) -> list[dict[str, Any]]:
    out = []
    for pop in tally.pops:
        entry: dict[str, Any] = {
            "code": {"coding": [{"system": MEASURE_POPULATION, "code": pop.code}]},
            "count": counts.count(pop),
        }
        if pop.id:
            entry["id"] = pop.id
        if pop.code == OBSERVATION:
            value = counts.aggregate(pop)
            if value is not None:
                entry["extension"] = [{"url": OBSERVATION_AGGREGATE, "valueDecimal": round(value, 6)}]
        if lists is not None and pop.index in lists:
            entry["subjectResults"] = {"reference": f"#{lists[pop.index]}"}
        out.append(entry)
    return out


def _with_score(entry: dict[str, Any], score: float | None) -> dict[str, Any]:
    if score is not None:
        entry["measureScore"] = {"value": round(score, 6)}
    return entry


def _stratifier_entries(tally: _GroupTally) -> list[dict[str, Any]]:
    out = []
    for index, stratifier in enumerate(tally.group.get("stratifier", [])):
        strata = []
        for _, slot in sorted(tally.strata[index].items()):
            stratum: dict[str, Any] = {}
            if slot.value is not None:
                stratum["value"] = slot.value
            if slot.components is not None:
                stratum["component"] = slot.components
            stratum["population"] = [
                {k: v for k, v in p.items() if k != "subjectResults"}
                for p in _population_entries(tally, slot.tally, lists=None)
            ]
            strata.append(_with_score(stratum, tally.score(slot.tally)))
        entry: dict[str, Any] = {"stratum": strata} if strata else {}
        if stratifier.get("id"):
            entry["id"] = stratifier["id"]
        if stratifier.get("code"):
            entry["code"] = [stratifier["code"]]
        out.append(entry)
    return out


class ReportTally:
    """What a MeasureReport needs of the engine's results, added a chunk at a time: the population
    tallies per group and (summary) the supplemental data of initial-population patients or (individual)
    the patient's results. A population's results need not be held whole: memory follows
    the report, not the population."""

    def __init__(self, measure: dict[str, Any], report_type: ReportType) -> None:
        self.measure = measure
        self.report_type = report_type
        self.groups = [_GroupTally(measure, group) for group in measure.get("group", [])]
        #: individual: the patient's results; summary: the supplemental data of initial-population patients
        self.kept: list[PatientResult] = []

    def add(self, results: Iterable[PatientResult]) -> None:
        sdes = bool(self.measure.get("supplementalData"))
        for result in results:
            in_ip = False
            for group in result.groups:
                if 0 <= group.group_index < len(self.groups):
                    self.groups[group.group_index].add(result.patient_id, group)
                in_ip = in_ip or any(
                    r.result and r.population_type == "initial-population" for r in group.population_results
                )
            if self.report_type == "individual":
                self.kept.append(result)
            elif in_ip and sdes and result.supplemental_data:
                kept = PatientResult.model_construct(
                    patient_id=result.patient_id, groups=[], supplemental_data=result.supplemental_data
                )
                self.kept.append(kept)


def build_measure_report(
    measure: dict[str, Any],
    results: list[PatientResult],
    *,
    period: Period,
    report_type: ReportType,
    subject: str | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """One MeasureReport for ``results`` (one patient for ``individual``), validated with R4B."""
    tally = ReportTally(measure, report_type)
    tally.add(results)
    return tallied_report(tally, period=period, subject=subject, warnings=warnings)


def tallied_report(
    tally: ReportTally, *, period: Period, subject: str | None = None, warnings: Sequence[str] = ()
) -> dict[str, Any]:
    """The MeasureReport of what ``tally`` added, validated with R4B.

    ``warnings`` go in a contained OperationOutcome (``#outcome``) the report's
    ``evaluation-outcome`` extension points at."""
    measure, report_type, results = tally.measure, tally.report_type, tally.kept
    contained: list[dict[str, Any]] = []
    groups_out = []
    for index, (measure_group, group_tally) in enumerate(
        zip(measure.get("group", []), tally.groups, strict=True)
    ):
        lists = None
        if report_type == "subject-list":
            lists = {}
            for pop in group_tally.pops:
                members = group_tally.total.members.get(pop.index)
                if members:
                    list_id = f"group-{index + 1}-{pop.code}-{pop.index + 1}"
                    lists[pop.index] = list_id
                    contained.append(_subject_list(list_id, sorted(set(members))))
        group_out: dict[str, Any] = {
            "population": _population_entries(group_tally, group_tally.total, lists=lists)
        }
        if measure_group.get("id"):
            group_out["id"] = measure_group["id"]
        if measure_group.get("code"):
            group_out["code"] = measure_group["code"]
        _with_score(group_out, group_tally.score(group_tally.total))
        stratifiers = _stratifier_entries(group_tally)
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
    if subject:
        report["subject"] = {"reference": subject}
    evaluated: list[dict[str, Any]] = []
    if report_type == "individual" and results:
        refs = sorted({ref for r in results for ref in r.evaluated_resource})
        evaluated = [{"reference": ref} for ref in refs]
        sde_refs, sde_obs = _individual_supplemental(measure, results)
        evaluated += sde_refs
        contained += sde_obs
    else:
        sde_refs, sde_obs = _summary_supplemental(measure, results)
        evaluated += sde_refs
        contained += sde_obs
    if warnings:
        contained.append(
            {
                "resourceType": "OperationOutcome",
                "id": "outcome",
                "issue": [{"severity": "warning", "code": "not-found", "diagnostics": w} for w in warnings],
            }
        )
        report["extension"] = [{"url": EVALUATION_OUTCOME, "valueReference": {"reference": "#outcome"}}]
    if contained:
        report["contained"] = contained
    if evaluated:
        report["evaluatedResource"] = evaluated
    MeasureReport.model_validate(report)  # strict: MedQC never emits an invalid report
    return report


def _sde_name(sde: dict[str, Any], index: int) -> str:
    return str(sde.get("id") or (sde.get("criteria") or {}).get("expression") or f"sde-{index + 1}")


def _criteria_reference(name: str) -> list[dict[str, Any]]:
    return [{"url": CRITERIA_REFERENCE, "valueString": name}]


def _individual_supplemental(
    measure: dict[str, Any], results: Iterable[PatientResult]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each supplemental-data value of the patient: resources as evaluated resources, other values as
    contained Observations (``code`` = the SDE, ``valueCodeableConcept`` = the value)."""
    refs: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    sdes = measure.get("supplementalData", [])
    for result in results:
        for index, values in enumerate(result.supplemental_data[: len(sdes)]):
            name = _sde_name(sdes[index], index)
            for n, value in enumerate({v.key: v for v in values}.values()):
                if value.reference is not None:
                    refs.append({"reference": value.reference, "extension": _criteria_reference(name)})
                    continue
                obs_id = f"sde-{index + 1}-{n + 1}"
                observations.append(
                    {
                        "resourceType": "Observation",
                        "id": obs_id,
                        "status": "final",
                        "extension": _criteria_reference(name),
                        "code": {"text": name},
                        "valueCodeableConcept": _concept(value),
                    }
                )
                refs.append({"reference": f"#{obs_id}", "extension": _criteria_reference(name)})
    return refs, observations


def _summary_supplemental(
    measure: dict[str, Any], results: Iterable[PatientResult]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Patients per supplemental-data value: one contained Observation per (SDE, value) whose ``code``
    is the value and ``valueInteger`` the count."""
    sdes = measure.get("supplementalData", [])
    counts: list[dict[str, tuple[ReportValue, int]]] = [{} for _ in sdes]
    for result in results:
        for index, values in enumerate(result.supplemental_data[: len(sdes)]):
            for key, value in {v.key: v for v in values}.items():
                seen = counts[index].get(key)
                counts[index][key] = (value, (seen[1] if seen else 0) + 1)
    refs: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    for index, by_value in enumerate(counts):
        name = _sde_name(sdes[index], index)
        for n, (_, (value, count)) in enumerate(sorted(by_value.items())):
            obs_id = f"sde-{index + 1}-{n + 1}"
            observations.append(
                {
                    "resourceType": "Observation",
                    "id": obs_id,
                    "status": "final",
                    "extension": _criteria_reference(name),
                    "code": _concept(value),
                    "valueInteger": count,
                }
            )
            refs.append({"reference": f"#{obs_id}", "extension": _criteria_reference(name)})
    return refs, observations


def _subject_list(list_id: str, members: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "List",
        "id": list_id,
        "status": "current",
        "mode": "snapshot",
        "entry": [{"item": {"reference": ref}} for ref in members],
    }


def _canonical(measure: dict[str, Any]) -> str:
    url = measure.get("url") or f"Measure/{measure.get('id')}"
    return f"{url}|{measure['version']}" if measure.get("version") else str(url)
