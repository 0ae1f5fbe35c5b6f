"""Cards from indicator findings: one card per indicator not met or needing review.

Indicator: ``critical`` for a failed core indicator, ``warning`` for a failed one, ``info`` for one that
needs review. Each card links to the MedQC review page of the encounter and, when MedQC can propose a
concrete change, suggests a FHIR ``Task`` per missing assessment for the clinician.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cds_services.findings import FactFinding, IndicatorFinding
from cds_services.models import Action, Card, Coding, Link, Source, Suggestion

INDICATOR_SYSTEM = "urn:cmqcic:indicator"
OVERRIDE_REASON_SYSTEM = "urn:medqc:cds:override-reason"
SOURCE_LABEL = "MedQC quality control"
SUMMARY_MAX = 139
#: pending indicators named on the pending card (the rest counted)
PENDING_LISTED = 20

OVERRIDE_REASONS: tuple[Coding, ...] = (
    Coding(system=OVERRIDE_REASON_SYSTEM, code="documented-elsewhere", display="Documented elsewhere"),
    Coding(system=OVERRIDE_REASON_SYSTEM, code="not-applicable", display="Not applicable to this patient"),
    Coding(system=OVERRIDE_REASON_SYSTEM, code="patient-refused", display="Patient refused"),
    Coding(system=OVERRIDE_REASON_SYSTEM, code="finding-incorrect", display="The finding is incorrect"),
)

Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class CardContext:
    """Where the cards go: the encounter they are about and MedQC's public URLs."""

    base_url: str
    patient_id: str
    encounter_id: str | None
    user_id: str | None = None
    smart_launch_url: str | None = None

    def review_url(self, encounter_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/review/Encounter/{encounter_id}"


def severity_of(finding: IndicatorFinding) -> Severity | None:
    """The card indicator for a finding; None when the indicator is met (no card)."""
    if finding.verdict == "not-met":
        return "critical" if finding.core else "warning"
    if finding.verdict == "needs-review":
        return "info"
    return None


def build_cards(findings: list[IndicatorFinding], ctx: CardContext) -> list[tuple[Card, IndicatorFinding]]:
    """Cards for the findings that need attention, most severe first; then one card saying which
    indicators are still being judged in the background, if any."""
    out: list[tuple[Card, IndicatorFinding]] = []
    for finding in findings:
        severity = severity_of(finding)
        if severity is not None:
            out.append((build_card(finding, severity, ctx), finding))
    out.sort(key=lambda pair: SEVERITY_ORDER[pair[0].indicator])
    pending = [f for f in findings if f.verdict == "pending"]
    if pending:
        out.append(pending_card(pending, ctx))
    return out


#: the key the pending card is issued under (it is about no single indicator)
PENDING_KEY = "pending"


def pending_card(pending: list[IndicatorFinding], ctx: CardContext) -> tuple[Card, IndicatorFinding]:
    """One info card: these indicators were not judged within the hook's budget; MedQC judges them in
    the background and the review page (or the next hook call) shows the result."""
    titles = [f"- {md_escape(f.title)} (`{f.key}`)" for f in pending[:PENDING_LISTED]]
    if len(pending) > PENDING_LISTED:
        titles.append(f"- … {len(pending) - PENDING_LISTED} more")
    card = Card(
        uuid=str(uuid.uuid4()),
        summary=truncate(
            f"{len(pending)} more quality indicators are being checked in the background", SUMMARY_MAX
        ),
        detail="\n".join(
            [
                "These indicators apply to the stay but were not judged before this answer "
                "(the hook judges the stay's main diseases first). The review page shows their results "
                "when the background judgement finishes.",
                "",
                *titles,
            ]
        ),
        indicator="info",
        source=Source(label=SOURCE_LABEL),
        links=links_for(ctx) if ctx.encounter_id else None,
    )
    return card, IndicatorFinding(
        key=PENDING_KEY, title="Indicators judged in the background", verdict="pending"
    )


def build_card(finding: IndicatorFinding, severity: Severity, ctx: CardContext) -> Card:
    suggestions = _suggestions(finding, ctx)
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary_of(finding),
        detail=detail_of(finding),
        indicator=severity,
        source=Source(
            label=SOURCE_LABEL,
            url=finding.definition_url,
            topic=Coding(system=INDICATOR_SYSTEM, code=finding.key, display=finding.title),
        ),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=list(OVERRIDE_REASONS),
        links=links_for(ctx, indicator_key=finding.key) if ctx.encounter_id else None,
    )


def summary_of(finding: IndicatorFinding) -> str:
    prefix = "Quality indicator not met" if finding.verdict == "not-met" else "Quality indicator needs review"
    return truncate(f"{prefix}: {finding.title}", SUMMARY_MAX)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut.

    >>> truncate("abcdef", 4)
    'abc…'
    """
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(text: str) -> str:
    """Markdown-inert text (no emphasis, links or raw HTML from note content).

    >>> md_escape("<b>*x*</b>")
    '&lt;b&gt;\\\\*x\\\\*&lt;/b&gt;'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _fact_verdict(fact: FactFinding) -> str:
    if fact.satisfied is True:
        return "✅ met"
    if fact.satisfied is False:
        return "❌ not met"
    if fact.value is None:
        return "❓ unknown"
    return f"value {md_escape(str(fact.value))}"


def detail_of(finding: IndicatorFinding) -> str:
    verdict = {"not-met": "not met", "needs-review": "needs review", "met": "met"}[finding.verdict]
    core = " · core indicator" if finding.core else ""
    lines = [f"**{md_escape(finding.title)}** (`{finding.key}`): {verdict}{core}"]
    if finding.definition:
        lines += ["", f"*Definition*: {md_escape(finding.definition)}"]
    if finding.definition_url:
        lines += ["", f"[Indicator definition]({finding.definition_url})"]
    if finding.facts:
        lines += ["", "*Facts checked*:"]
    for fact in finding.facts:
        lines.append(f"- {md_escape(fact.question)}: **{_fact_verdict(fact)}**")
        for item in fact.evidence:
            where = f" ({md_escape(item.reference)})" if item.reference else ""
            if item.quote:
                lines.append(f"  - “{md_escape(item.quote)}”{where}")
            elif item.reference:
                lines.append(f"  - evidence: {md_escape(item.reference)}")
        if not fact.evidence:
            lines.append("  - no evidence found in the record")
    return "\n".join(lines)


def links_for(ctx: CardContext, *, indicator_key: str | None = None) -> list[Link]:
    assert ctx.encounter_id is not None
    links = [Link(label="Review in MedQC", url=ctx.review_url(ctx.encounter_id), type="absolute")]
    if ctx.smart_launch_url:
        app_context: dict[str, Any] = {"encounter": ctx.encounter_id, "patient": ctx.patient_id}
        if indicator_key:
            app_context["indicator"] = indicator_key
        links.append(
            Link(
                label="Open the MedQC review app",
                url=ctx.smart_launch_url,
                type="smart",
                appContext=json.dumps(app_context, ensure_ascii=False),
            )
        )
    return links


def _suggestions(finding: IndicatorFinding, ctx: CardContext) -> list[Suggestion]:
    """One suggestion: a Task for the clinician per assessment that is missing or undocumented."""
    if ctx.encounter_id is None:
        return []
    missing = [f for f in finding.facts if f.satisfied is not True]
    if not missing:
        return []
    actions = [
        Action(
            type="create",
            description=truncate(f"Task: {_task_text(fact)}", 200),
            resource=task_for(fact, finding, ctx),
        )
        for fact in missing
    ]
    label = "Create a task to complete the missing assessment" + ("s" if len(actions) > 1 else "")
    return [Suggestion(label=label, uuid=str(uuid.uuid4()), isRecommended=True, actions=actions)]


def _task_text(fact: FactFinding) -> str:
    verb = "Complete and document" if fact.satisfied is False else "Verify and document"
    return f"{verb}: {fact.question}"


def task_for(fact: FactFinding, finding: IndicatorFinding, ctx: CardContext) -> dict[str, Any]:
    """A FHIR R4 Task asking the clinician to complete one assessment. Built from a fixed shape whose
    validity ``tests/cds_services/test_cds_cards.py`` checks with fhir.resources (validating every Task of
    every card here cost a tenth of a hook's CPU)."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {"text": "Complete quality-control assessment"},
        "description": _task_text(fact),
        "for": {"reference": f"Patient/{ctx.patient_id}"},
        "encounter": {"reference": f"Encounter/{ctx.encounter_id}"},
        "authoredOn": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reasonCode": {
            "coding": [{"system": INDICATOR_SYSTEM, "code": finding.key, "display": finding.title}],
            "text": finding.title,
        },
        "input": [{"type": {"text": "fact"}, "valueString": fact.fact_id}],
    }
    if ctx.user_id and "/" in ctx.user_id:
        task["owner"] = {"reference": ctx.user_id}
    return task
