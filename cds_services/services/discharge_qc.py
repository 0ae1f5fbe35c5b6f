"""``medqc-discharge-qc`` on ``encounter-discharge``: the quality-control indicators the stay fails."""

from __future__ import annotations

from cds_services.cards import build_cards
from cds_services.errors import CdsNotConfiguredError
from cds_services.service import CdsService, HookCall, HookOutcome, IssuedCard
from cds_services.services.discharge_docs import discharge_doc_cards

SERVICE_ID = "medqc-discharge-qc"

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "encounter": "Encounter/{{context.encounterId}}",
    "conditions": "Condition?patient={{context.patientId}}&encounter={{context.encounterId}}",
    "observations": "Observation?patient={{context.patientId}}&encounter={{context.encounterId}}",
    "procedures": "Procedure?patient={{context.patientId}}&encounter={{context.encounterId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&encounter={{context.encounterId}}",
    "documentReferences": "DocumentReference?patient={{context.patientId}}&encounter={{context.encounterId}}",
}


async def handle(call: HookCall) -> HookOutcome:
    if call.evaluator is None:
        raise CdsNotConfiguredError("no quality-control evaluator is configured")
    encounter_id = str(call.request.context["encounterId"])
    record = await call.source.encounter_record(encounter_id)
    findings = await call.evaluator(record)
    issued = [
        IssuedCard(
            card=card,
            indicator_key=finding.key,
            encounter_id=encounter_id,
            suggestion_ids=tuple(s.uuid for s in card.suggestions or [] if s.uuid),
        )
        for card, finding in build_cards(findings, call.cards)
    ]
    issued += await discharge_doc_cards(record, call.cards, encounter_id)
    return HookOutcome(issued=issued)


SERVICE = CdsService(
    id=SERVICE_ID,
    hook="encounter-discharge",
    title="MedQC discharge quality control",
    description=(
        "Checks the discharged encounter against the national single-disease quality-control indicators "
        "and returns a card for each indicator not met or needing review, with the facts and the "
        "evidence behind the judgement."
    ),
    prefetch=PREFETCH,
    required_context=("userId", "patientId", "encounterId"),
    handler=handle,
)
