"""``$draft-discharge-summary``: a discharge-summary draft (出院记录) of an encounter.

Extractive by default; with ``MEDQC_DRAFT_MODE=abstractive`` and a language model configured, the
course and discharge-state sections are rewritten by the model and every rewritten sentence verified
against the record sentences it cites (:mod:`agents.drafting.abstractive`); the model failing or the
deadline (``MEDQC_DRAFT_LLM_DEADLINE_S``) passing leaves those sections extractive.

Returns a Bundle: the DocumentReference (status current, docStatus preliminary, LOINC 18842-5), its
Provenance and the consistency DetectedIssues implicating it. At instance level the draft is stored as
``DocumentReference/discharge-<encounter>`` (each call a new version, with its own Provenance); the
clinician finalises it by updating docStatus to final with If-Match, after which it is never redrafted.
"""

from __future__ import annotations

from typing import Any

from agents.consistency.checks import validate_draft
from agents.drafting.abstractive import AbstractiveDrafter
from agents.drafting.document import document_reference, draft_id, provenance
from agents.drafting.drafter import Draft, draft_summary
from agents.icd.suggest import suggest
from agents.operations.cdi_review import collection
from agents.operations.common import RECORD_PARAMETERS, icd_index, record_of
from fhir_ops.data_access.record import EncounterRecord
from fhir_ops.errors import Conflict, NotFound
from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest


async def _refuse_final(repo: Any, resource_id: str) -> None:
    try:
        existing = await repo.read("DocumentReference", resource_id)
    except NotFound:
        return
    if existing.get("docStatus") == "final":
        raise Conflict(f"DocumentReference/{resource_id} is final: a signed summary is not redrafted")


async def _abstract(services: Any, draft: Draft, record: EncounterRecord) -> Draft:
    """The abstractive draft when configured (a model and ``draft_mode`` abstractive), else ``draft``."""
    settings, gateway = services.settings, services.model.gateway
    if settings.draft_mode != "abstractive" or gateway is None:
        return draft
    return await AbstractiveDrafter(gateway, settings.draft_llm_deadline_s).rewrite(draft, record)


async def draft_handler(request: OperationRequest) -> dict[str, Any]:
    record = await record_of(request)
    draft = draft_summary(record, suggest(record, await icd_index()))
    draft = await _abstract(request.services, draft, record)
    encounter_id = str((record.encounter or {}).get("id") or "bundle")
    doc_id = draft_id(encounter_id)
    doc = document_reference(draft, record, resource_id=doc_id)
    issues = validate_draft(draft, record, draft_reference=f"DocumentReference/{doc_id}").issues
    if request.resource_id is None:
        prov = provenance(draft, record, target=f"DocumentReference/{doc_id}", resource_id=f"{doc_id}-p")
        return collection([doc, prov, *issues])
    repo = request.services.repo
    await _refuse_final(repo, doc_id)
    stored, _ = await repo.update("DocumentReference", doc_id, doc)
    version = str((stored.get("meta") or {}).get("versionId") or "1")
    prov = provenance(
        draft,
        record,
        target=f"DocumentReference/{doc_id}/_history/{version}",
        resource_id=f"{doc_id}-v{version}"[:64],
    )
    stored_prov, _ = await repo.update("Provenance", prov["id"], prov)
    stored_issues = [(await repo.update("DetectedIssue", i["id"], i))[0] for i in issues]
    return collection([stored, stored_prov, *stored_issues])


OPERATION = Operation(
    code="draft-discharge-summary",
    title="Draft the discharge summary (出院记录) of an encounter",
    description="Draft from the department's template: every sentence is a verbatim quote of the record or a "
    "rendering of coded data, each with its qc-evidence; unverifiable quotes are dropped and counted. With "
    "MEDQC_DRAFT_MODE=abstractive and a language model, the course and discharge-state sections are "
    "rewritten and each rewritten sentence kept only if the record sentences it cites support every claim "
    "(the draft-section extension says which mode produced each section). Returns a Bundle with the "
    "DocumentReference (docStatus preliminary, LOINC 18842-5), its "
    "Provenance and the fact-consistency DetectedIssues. Instance level stores and versions the draft; "
    "finalise it with a PUT setting docStatus to final (If-Match).",
    levels=("system", "instance"),
    resource_types=("Encounter",),
    handler=draft_handler,
    parameters=(
        *RECORD_PARAMETERS,
        OperationParam(
            "return",
            "Bundle",
            use="out",
            min=1,
            documentation="The DocumentReference, its Provenance and the consistency DetectedIssues",
        ),
    ),
    affects_state=True,
)
