"""A reviewer accepts or overrides a verdict: FHIR resources in the store, and CDS feedback.

One transaction writes
- a ``Task`` (code ``qc-review#verdict-review``, status completed, businessStatus accepted|overridden,
  focus the report version decided on, statusReason the override reason, the comment as a note, the
  verdicts before and after as input/output),
- the report amended (``If-Match`` its version): populations set to the reviewer's verdict, the review
  flag cleared, and a ``qc-review`` extension pointing at the Task,
- the reviewer's verdict on the stay, an ``Observation`` coded ``qc-fact#<indicator>.reviewer-verdict``
  (stable id per encounter and indicator, so a later decision updates it): the catalog CQL reads it and
  takes the reviewer's verdict for that stay in every later judgement — the next hook card,
  ``$qc-evaluate`` and the period's ``$evaluate-measure`` rate. An accepted verdict is written too: the
  reviewer signed it, so a later re-judgement keeps it rather than silently reopening the case,
- a ``Provenance`` of the reviewer (agent), the Task, the new report version and the verdict
  Observation (targets) and the version it revised (entity).

Then the decision is fed to the CDS feedback store (:func:`cds_services.feedback.record_feedback`) as
feedback on the current card of that encounter and indicator, or, when no card was issued (a judgement
from ``$qc-evaluate``), on a card row the workstation registers for it; the same ``cds_feedback`` rows and
``medqc_cds_feedback_total`` metric then count clinicians' and reviewers' overrides alike.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select

from agents.fact_observations import observation_id
from cds_services.cards import OVERRIDE_REASONS, truncate
from cds_services.feedback import record_feedback
from cds_services.models import FeedbackItem, FeedbackRequest, LenientCoding, OverrideReasonFeedback
from cds_services.tables import CdsCardRow
from fhir_ops.errors import BadRequest
from fhir_ops.store.database import Database
from fhir_ops.store.protocol import ResourceRepository
from measures.catalog.cql import CS_FACT, reviewer_code
from measures.catalog.schema import IndicatorSpec
from medqc.workstation.store import DECISION_CODE, DECISION_SYSTEM
from medqc.workstation.views import EXT_REVIEW, SD, computed_verdict, populations, verdict_of

Outcome = Literal["accepted", "overridden"]
WORKSTATION_SERVICE = "medqc-workstation"
CS_OUTCOME = "http://medqc.org/fhir/CodeSystem/qc-review-outcome"
CS_VERDICT = "http://medqc.org/fhir/CodeSystem/qc-verdict"
CS_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
CS_PROVENANCE_ROLE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
CS_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
#: The reviewer's verdicts (needs review is what a decision ends).
TARGETS = ("met", "not-met", "not-applicable")
REASONS = {c.code: c for c in OVERRIDE_REASONS}
COMMENT_MAX = 2000


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    after: str
    reason: str | None
    comment: str
    reviewer: str


def parse_decision(form: dict[str, str], reviewer: str, report: dict[str, Any]) -> Decision:
    """The decision a form states, checked: 400 on anything else."""
    outcome = form.get("outcome")
    comment = (form.get("comment") or "").strip()
    if len(comment) > COMMENT_MAX:
        raise BadRequest(f"The comment is longer than {COMMENT_MAX} characters")
    if outcome == "accepted":
        verdict = computed_verdict(report)
        after = (
            verdict
            if verdict != "needs-review"
            else ("met" if populations(report).get("numerator") else "not-met")
        )
        return Decision("accepted", after, None, comment, reviewer)
    if outcome != "overridden":
        raise BadRequest("outcome must be 'accepted' or 'overridden'")
    target, reason = form.get("verdict"), form.get("reason")
    if target not in TARGETS:
        raise BadRequest(f"verdict must be one of {', '.join(TARGETS)}")
    if reason not in REASONS:
        raise BadRequest(f"reason must be one of {', '.join(REASONS)}")
    if target == verdict_of(report):
        raise BadRequest("An override must change the verdict")
    return Decision("overridden", target, reason, comment, reviewer)


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    return {**out, "display": display} if display else out


def amended_report(report: dict[str, Any], decision: Decision, *, task_id: str, at: str) -> dict[str, Any]:
    """The report carrying the reviewer's verdict and a ``qc-review`` extension."""
    new = copy.deepcopy({k: v for k, v in report.items() if k != "meta"})
    before = verdict_of(report)
    group = (new.get("group") or [{}])[0]
    if decision.outcome == "overridden":
        placed = decision.after != "not-applicable"
        counts = {
            "initial-population": max(populations(report).get("initial-population", 0), int(placed)),
            "denominator": int(placed),
            "numerator": int(decision.after == "met"),
        }
        group["population"] = [
            {"code": {"coding": [_coding(CS_POPULATION, code)]}, "count": count}
            for code, count in counts.items()
        ]
        if placed:
            group["measureScore"] = {"value": float(counts["numerator"])}
        else:
            group.pop("measureScore", None)
    group["extension"] = [
        e for e in group.get("extension") or [] if e.get("url") != SD + "qc-needs-review"
    ] + [{"url": SD + "qc-needs-review", "valueBoolean": False}]
    new["extension"] = [e for e in new.get("extension") or [] if e.get("url") != EXT_REVIEW] + [
        {
            "url": EXT_REVIEW,
            "extension": [
                {"url": "decision", "valueReference": {"reference": f"Task/{task_id}"}},
                {"url": "outcome", "valueCode": decision.outcome},
                {"url": "verdictBefore", "valueCode": before},
                {"url": "verdictAfter", "valueCode": decision.after},
                {"url": "reviewer", "valueString": decision.reviewer},
                {"url": "at", "valueDateTime": at},
            ],
        }
    ]
    return new


def decision_task(
    report: dict[str, Any], decision: Decision, *, task_id: str, version: str, encounter: str, at: str
) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id,
        "status": "completed",
        "intent": "order",
        "code": {"coding": [_coding(DECISION_SYSTEM, DECISION_CODE, "质控结论审核")], "text": "质控结论审核"},
        "businessStatus": {"coding": [_coding(CS_OUTCOME, decision.outcome)]},
        "focus": {"reference": f"MeasureReport/{report['id']}/_history/{version}"},
        "encounter": {"reference": f"Encounter/{encounter}"},
        "authoredOn": at,
        "lastModified": at,
        "requester": {"display": decision.reviewer},
        "owner": {"display": decision.reviewer},
        "input": [{"type": {"text": "verdict-before"}, "valueCode": verdict_of(report)}],
        "output": [{"type": {"text": "verdict-after"}, "valueCode": decision.after}],
    }
    if (subject := report.get("subject")) is not None:
        task["for"] = subject
    if decision.reason:
        reason = REASONS[decision.reason]
        task["statusReason"] = {
            "coding": [_coding(str(reason.system), reason.code, reason.display)],
            "text": reason.display,
        }
    if decision.comment:
        task["note"] = [{"text": decision.comment, "authorString": decision.reviewer, "time": at}]
    return task


def reviewer_verdict(
    report: dict[str, Any], spec: IndicatorSpec, decision: Decision, *, encounter: str, version: str, at: str
) -> dict[str, Any]:
    """The reviewer's verdict on the stay as the Observation the catalog CQL reads
    (see :func:`measures.catalog.cql.reviewer_code`)."""
    code = reviewer_code(spec)
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id(encounter, code),
        "status": "final",
        "code": {"coding": [_coding(CS_FACT, code, f"{spec.title}: 质控审核结论")], "text": "质控审核结论"},
        "encounter": {"reference": f"Encounter/{encounter}"},
        "effectiveDateTime": at,
        "issued": at,
        "performer": [{"display": decision.reviewer}],
        "valueCodeableConcept": {"coding": [_coding(CS_VERDICT, decision.after)]},
        "derivedFrom": [{"reference": f"MeasureReport/{report['id']}/_history/{version}"}],
    }
    if (subject := report.get("subject")) is not None:
        obs["subject"] = subject
    notes = [REASONS[decision.reason].display or decision.reason] if decision.reason else []
    if decision.comment:
        notes.append(decision.comment)
    if notes:
        obs["note"] = [{"text": text, "authorString": decision.reviewer, "time": at} for text in notes]
    return obs


def decision_provenance(
    report_id: str,
    decision: Decision,
    *,
    task_id: str,
    version: str,
    at: str,
    verdict_id: str | None = None,
) -> dict[str, Any]:
    revised = int(version) + 1
    prov: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": f"{task_id}-p",
        "target": [
            {"reference": f"Task/{task_id}"},
            {"reference": f"MeasureReport/{report_id}/_history/{revised}"},
            *([{"reference": f"Observation/{verdict_id}"}] if verdict_id else []),
        ],
        "recorded": at,
        "activity": {"coding": [_coding(CS_DATA_OPERATION, "UPDATE", "revise")]},
        "agent": [
            {
                "type": {"coding": [_coding(CS_PROVENANCE_ROLE, "verifier", "Verifier")]},
                "who": {"display": decision.reviewer},
            }
        ],
        "entity": [
            {"role": "revision", "what": {"reference": f"MeasureReport/{report_id}/_history/{version}"}}
        ],
    }
    if decision.reason:
        reason = REASONS[decision.reason]
        prov["reason"] = [{"coding": [_coding(str(reason.system), reason.code, reason.display)]}]
    return prov


async def decide(
    repo: ResourceRepository,
    db: Database,
    *,
    report: dict[str, Any],
    spec: IndicatorSpec | None,
    encounter: str,
    decision: Decision,
) -> str:
    """Store the decision (one transaction, 412 when the report changed meanwhile) and feed it to the CDS
    feedback store; returns the Task id."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    task_id = "qcd-" + uuid.uuid4().hex[:32]
    version = str((report.get("meta") or {}).get("versionId", "1"))
    entries = [
        {
            "resource": decision_task(
                report, decision, task_id=task_id, version=version, encounter=encounter, at=at
            ),
            "request": {"method": "PUT", "url": f"Task/{task_id}"},
        },
        {
            "resource": amended_report(report, decision, task_id=task_id, at=at),
            "request": {"method": "PUT", "url": f"MeasureReport/{report['id']}", "ifMatch": f'W/"{version}"'},
        },
    ]
    verdict_id = None
    if spec is not None:
        verdict = reviewer_verdict(report, spec, decision, encounter=encounter, version=version, at=at)
        verdict_id = str(verdict["id"])
        request = {"method": "PUT", "url": f"Observation/{verdict_id}"}
        entries.append({"resource": verdict, "request": request})
    entries.append(
        {
            "resource": decision_provenance(
                report["id"], decision, task_id=task_id, version=version, at=at, verdict_id=verdict_id
            ),
            "request": {"method": "PUT", "url": f"Provenance/{task_id}-p"},
        }
    )
    await repo.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    key = spec.key if spec else str(report.get("measure", ""))
    title = spec.title if spec else key
    patient = str((report.get("subject") or {}).get("reference", "")).removeprefix("Patient/") or None
    await feed_back(
        db,
        encounter=encounter,
        patient=patient,
        indicator_key=key,
        title=title,
        decision=decision,
        task_id=task_id,
    )
    return task_id


async def feed_back(
    db: Database,
    *,
    encounter: str,
    patient: str | None,
    indicator_key: str,
    title: str,
    decision: Decision,
    task_id: str,
) -> None:
    now = datetime.now(UTC)
    async with db.writer() as session:
        card = (
            await session.execute(
                select(CdsCardRow)
                .where(
                    CdsCardRow.encounter_id == encounter,
                    CdsCardRow.indicator_key == indicator_key,
                    CdsCardRow.superseded_at.is_(None),
                )
                .order_by(CdsCardRow.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if card is None:
            card = CdsCardRow(
                uuid=str(uuid.uuid4()),
                service_id=WORKSTATION_SERVICE,
                hook_instance=f"Task/{task_id}",
                encounter_id=encounter,
                patient_id=patient,
                indicator_key=indicator_key,
                severity="info",
                summary=truncate(f"Workstation review: {title}", 139),
                suggestion_ids=[],
                created_at=now,
            )
            session.add(card)
            await session.commit()
        card_uuid, service_id = card.uuid, card.service_id
    reason = None
    if decision.outcome == "overridden" and decision.reason:
        coding = REASONS[decision.reason]
        reason = OverrideReasonFeedback(
            reason=LenientCoding(system=coding.system, code=coding.code, display=coding.display),
            userComment=decision.comment or None,
        )
    item = FeedbackItem(card=card_uuid, outcome=decision.outcome, overrideReason=reason, outcomeTimestamp=now)
    await record_feedback(db, service_id=service_id, request=FeedbackRequest(feedback=[item]))
