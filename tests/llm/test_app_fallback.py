"""The live app with a language model configured but down: $qc-evaluate and the hook still answer, and the
verdicts that would have needed the model are flagged for review (never a 5xx)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.live import free_port, live_server
from tests.support.notes import note_bundle, note_resources

NOTE = "现病史：突发胸痛3小时入院，诊断急性ST段抬高型心肌梗死。"


@pytest.fixture(scope="module")
def app_with_dead_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(
        "sqlite",
        tmp_path_factory.mktemp("llm-down"),
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_model="smollm2",
        llm_max_retries=1,
        llm_timeout_s=2,
        llm_hybrid_scope="unknown",
        kb_dir=str(tmp_path_factory.mktemp("kb")),
    )
    with live_server(settings) as base:
        yield base


def test_qc_evaluate_degrades_to_needs_review(app_with_dead_model: str) -> None:
    response = httpx.post(
        f"{app_with_dead_model}/fhir/$qc-evaluate",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "bundle", "resource": note_bundle(NOTE)},
                {"name": "measure", "valueString": "Measure/stemi-discharge-aspirin"},
                {"name": "denominatorAsserted", "valueBoolean": True},
            ],
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text[:300]
    group = response.json()["entry"][0]["resource"]["group"][0]
    review = next(e for e in group["extension"] if e["url"].endswith("qc-needs-review"))
    assert review["valueBoolean"] is True


def test_hook_still_answers(app_with_dead_model: str) -> None:
    """The hook runs the fast path; the background refinement with the dead model must not break it."""
    patient, encounter, note = note_resources(NOTE)
    body = {
        "hook": "encounter-discharge",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "p1", "encounterId": "e1"},
        "prefetch": {
            "patient": patient,
            "encounter": encounter,
            "conditions": None,
            "observations": None,
            "procedures": None,
            "medicationRequests": None,
            "documentReferences": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": note}],
            },
        },
    }
    for _ in range(2):  # the second call comes after the failed background refinement
        response = httpx.post(f"{app_with_dead_model}/cds-services/medqc-discharge-qc", json=body, timeout=60)
        assert response.status_code == 200
        summaries = [c["summary"] for c in response.json()["cards"]]
        assert any("出院" in s or "discharge" in s.lower() or "STEMI" in s for s in summaries), summaries
