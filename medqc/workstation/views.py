"""What the pages show, read from stored FHIR resources (pure functions, no I/O).

A report's verdict follows the CDS adapter's reading (:mod:`cds_services.qc_adapter`): not in the
denominator → not applicable; needs review when flagged; met when in the numerator; else not met. A
reviewer's decision stored on the report (extension ``qc-review``) is the verdict from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from measures.catalog.schema import IndicatorSpec
from medqc.workstation.evidence import Located
from medqc.workstation.rule_text import rule_in_words

SD = "http://medqc.org/fhir/StructureDefinition/"
EXT_REVIEW = SD + "qc-review"
EXT_ABSENCE = SD + "qc-absent-from-record"
Resource = dict[str, Any]

#: verdict code → (Chinese label with the English word, css class, order: failing first)
VERDICTS: dict[str, tuple[str, str, int]] = {
    "not-met": ("未达标 · not met", "not-met", 0),
    "needs-review": ("待审核 · needs review", "review", 1),
    "met": ("达标 · met", "met", 2),
    "not-applicable": ("不适用 · not applicable", "na", 3),
}


def ext(element: Resource, name: str) -> list[Resource]:
    return [e for e in element.get("extension") or [] if e.get("url") == SD + name]


def sub(extension: Resource, url: str) -> Resource:
    return next((e for e in extension.get("extension") or [] if e.get("url") == url), {})


def populations(report: Resource) -> dict[str, int]:
    group = (report.get("group") or [{}])[0]
    out: dict[str, int] = {}
    for pop in group.get("population") or []:
        codes = (pop.get("code") or {}).get("coding") or [{}]
        out[str(codes[0].get("code"))] = int(pop.get("count") or 0)
    return out


def computed_verdict(report: Resource) -> str:
    """MedQC's verdict from the populations and the review flag (before any reviewer decision)."""
    counts = populations(report)
    group = (report.get("group") or [{}])[0]
    if not counts.get("denominator"):
        return "not-applicable"
    if any(e.get("valueBoolean") for e in ext(group, "qc-needs-review")):
        return "needs-review"
    return "met" if counts.get("numerator") else "not-met"


@dataclass(frozen=True, slots=True)
class Review:
    """A reviewer's decision as stored on the report."""

    outcome: str  # accepted | overridden
    before: str
    after: str
    task: str
    reviewer: str
    at: str


def review_of(report: Resource) -> Review | None:
    for e in report.get("extension") or []:
        if e.get("url") == EXT_REVIEW:
            return Review(
                outcome=str(sub(e, "outcome").get("valueCode", "")),
                before=str(sub(e, "verdictBefore").get("valueCode", "")),
                after=str(sub(e, "verdictAfter").get("valueCode", "")),
                task=str((sub(e, "decision").get("valueReference") or {}).get("reference", "")),
                reviewer=str(sub(e, "reviewer").get("valueString", "")),
                at=str(sub(e, "at").get("valueDateTime", "")),
            )
    return None


def verdict_of(report: Resource) -> str:
    review = review_of(report)
    return review.after if review and review.after in VERDICTS else computed_verdict(report)


def measure_id(report: Resource) -> str:
    return str(report.get("measure", "")).split("|")[0].rsplit("/", 1)[-1]


def encounter_ref(report: Resource) -> str | None:
    for item in report.get("evaluatedResource") or []:
        ref = str(item.get("reference", ""))
        if ref.startswith("Encounter/"):
            return ref.removeprefix("Encounter/")
    return None


def is_judgement(report: Resource) -> bool:
    """An individual report MedQC stored for an encounter (``MeasureReport/qc-<encounter>-<measure>``)."""
    return report.get("type") == "individual" and str(report.get("id", "")).startswith("qc-")


def department_of(encounter: Resource | None) -> str:
    """The department: serviceType, then location, then serviceProvider, then the encounter type text.

    >>> department_of({"type": [{"text": "心内科住院"}]})
    '心内科住院'
    >>> department_of({"serviceType": {"text": "神经内科"}, "type": [{"text": "住院"}]})
    '神经内科'
    >>> department_of(None)
    '未注明'
    """
    if not encounter:
        return "未注明"
    candidates: list[Any] = [encounter.get("serviceType")]
    candidates += [(loc.get("location") or {}) for loc in encounter.get("location") or []]
    candidates += [encounter.get("serviceProvider"), *(encounter.get("type") or [])]
    for item in candidates:
        if not isinstance(item, dict):
            continue
        codings = item.get("coding") or [{}]
        text = item.get("text") or item.get("display") or codings[0].get("display")
        if text:
            return str(text)
    return "未注明"


def stay_dates(encounter: Resource | None) -> tuple[str, str]:
    period = (encounter or {}).get("period") or {}
    return _date(period.get("start")), _date(period.get("end"))


def _date(value: object) -> str:
    text = str(value or "")
    return text[:10] if text else "—"


def month_of(encounter: Resource | None, report: Resource) -> str:
    """The discharge month (``YYYY-MM``) a judgement counts in: the stay's end, else the report period's."""
    period = (encounter or {}).get("period") or report.get("period") or {}
    text = str(period.get("end") or period.get("start") or report.get("date") or "")
    return text[:7] if len(text) >= 7 else "—"


def patient_name(patient: Resource | None) -> str:
    """The name as written (``text``), else family name then given names.

    >>> patient_name({"name": [{"family": "张", "given": ["建国"]}]})
    '张建国'
    """
    if not patient:
        return "—"
    name = (patient.get("name") or [{}])[0]
    if name.get("text"):
        return str(name["text"])
    family, given = str(name.get("family") or ""), "".join(name.get("given") or [])
    return (family + given) or "—"


def mrn_of(patient: Resource | None) -> str:
    """The medical record number: the identifier typed MR, else the first identifier."""
    identifiers = (patient or {}).get("identifier") or []
    for ident in identifiers:
        codes = {c.get("code") for c in (ident.get("type") or {}).get("coding") or []}
        if "MR" in codes and ident.get("value"):
            return str(ident["value"])
    return str(identifiers[0].get("value") or "—") if identifiers else "—"


# ---- facts ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Evidence:
    source: str
    quote: str | None
    start: int | None
    end: int | None
    context: Located | None = None  # the quote in a few words of its note (filled in when it is read)
    wide: Located | None = None  # the same with a paragraph around it (the expandable context)


@dataclass(slots=True)
class Fact:
    question: str
    value: str
    css: str
    method: str
    confidence: float | None
    absent_default: bool
    evidence: list[Evidence] = field(default_factory=list)


def fact_value(obs: Resource) -> tuple[str, str]:
    """The value as 是/否/未记录 (numbers and text as they are), with a css class.

    >>> fact_value({"valueBoolean": True}), fact_value({"dataAbsentReason": {}})
    (('是', 'yes'), ('未记录', 'unknown'))
    >>> fact_value({"valueQuantity": {"value": 2.0, "unit": "分"}})
    ('2 分', 'value')
    """
    if "valueBoolean" in obs:
        return ("是", "yes") if obs["valueBoolean"] else ("否", "no")
    if "valueQuantity" in obs:
        q = obs["valueQuantity"] or {}
        number = q.get("value")
        shown = str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)
        return f"{shown} {q.get('unit', '')}".strip(), "value"
    for key in ("valueString", "valueDateTime", "valueInteger", "valueCodeableConcept"):
        if key in obs:
            value = obs[key]
            return (str(value.get("text", value)) if isinstance(value, dict) else str(value)), "value"
    return "未记录", "unknown"


def fact_view(obs: Resource) -> Fact:
    evidence: list[Evidence] = []
    for e in ext(obs, "qc-evidence"):
        evidence.append(
            Evidence(
                source=str((sub(e, "source").get("valueReference") or {}).get("reference", "")),
                quote=sub(e, "quote").get("valueString"),
                start=sub(e, "start").get("valueInteger"),
                end=sub(e, "end").get("valueInteger"),
            )
        )
    value, css = fact_value(obs)
    absent = any(e.get("valueBoolean") for e in ext(obs, "qc-absent-from-record"))
    if absent:
        value = f"{value}（未记录，视为{value}）" if value in {"是", "否"} else value
    return Fact(
        question=str((obs.get("code") or {}).get("text", "")),
        value=value,
        css=css,
        method=str((((obs.get("method") or {}).get("coding")) or [{}])[0].get("code", "")),
        confidence=next((e.get("valueDecimal") for e in ext(obs, "qc-confidence")), None),
        absent_default=absent,
        evidence=evidence,
    )


# ---- reports ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReportView:
    id: str
    measure: str
    title: str
    definition: str | None
    verdict: str
    label: str
    css: str
    order: int
    computed: str
    rule_words: str
    rule_source: str
    rule_result: str
    date: str
    version: str
    facts: list[Fact]
    review: Review | None
    #: the reviewer's verdict Observation the judgement took over the facts (``Observation/<id>``)
    decided_by: str | None


def questions_of(spec: IndicatorSpec | None) -> dict[str, str]:
    """Fact id → question, marked when a fact that is never mentioned counts as no (``absent: false``)."""
    if spec is None:
        return {}
    marks = {False: "（未记录视为否）", True: "（未记录视为是）", None: ""}
    return {fact.id: fact.question + marks[fact.absent] for fact in spec.all_facts}


def report_view(report: Resource, spec: IndicatorSpec | None, measure: Resource | None) -> ReportView:
    group = (report.get("group") or [{}])[0]
    verdict = verdict_of(report)
    label, css, order = VERDICTS[verdict]
    rule = next((str(e.get("valueString")) for e in ext(group, "qc-rule")), "")
    return ReportView(
        id=str(report.get("id", "")),
        measure=measure_id(report),
        title=(spec.title if spec else None) or str((measure or {}).get("title") or measure_id(report)),
        definition=(spec.text.definition if spec else None) or (measure or {}).get("description"),
        verdict=verdict,
        label=label,
        css=css,
        order=order,
        computed=computed_verdict(report),
        rule_words=rule_in_words(rule, questions_of(spec)) if rule else "",
        rule_source=rule,
        rule_result={"true": "是", "false": "否", "unknown": "未记录"}.get(
            next((str(e.get("valueCode")) for e in ext(group, "qc-rule-result")), ""), "—"
        ),
        date=str(report.get("date", "")),
        version=str((report.get("meta") or {}).get("versionId", "1")),
        facts=[fact_view(o) for o in report.get("contained") or [] if o.get("resourceType") == "Observation"],
        review=review_of(report),
        decided_by=next(
            (
                str((e.get("valueReference") or {}).get("reference"))
                for e in ext(report, "qc-reviewer-verdict")
            ),
            None,
        ),
    )


def failing_first(views: list[ReportView]) -> list[ReportView]:
    return sorted(views, key=lambda v: (v.order, v.title))
