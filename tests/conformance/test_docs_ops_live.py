"""The discharge-documentation operations over the live HTTP app: ``$icd-suggest``, ``$cdi-review`` and
``$draft-discharge-summary`` (instance and system level), storage and versioning of the draft, and
finalisation by the clinician (PUT docStatus final with If-Match)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters

from agents.drafting.labelled import LabelledRecord, load_records
from knowledge_base.icd.table import ICD_SYSTEM
from medqc.bundles import as_transaction
from medqc.commands.eval_docs import RECORDS_DIR
from tests.conftest import SHARED, make_settings
from tests.support.live import live_server

pytestmark = pytest.mark.skipif(
    not (SHARED / "icd").exists(), reason="../shared/data is not beside the repository"
)
TIMEOUT = 120
EMPTY_PREFETCH = ("conditions", "observations", "procedures", "medicationRequests")


@pytest.fixture(scope="module")
def record() -> LabelledRecord:
    return next(r for r in load_records(RECORDS_DIR / "dev") if r.id == "D01")


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory, record: LabelledRecord) -> Iterator[str]:
    settings = make_settings("sqlite", tmp_path_factory.mktemp("docs"), seed_catalog=False)
    with live_server(settings) as base:
        loaded = httpx.post(f"{base}/fhir", json=as_transaction(record.resources()), timeout=TIMEOUT)
        assert loaded.status_code == 200, loaded.text[:500]
        yield f"{base}/fhir"


def _bundle_param(record: LabelledRecord) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in record.resources()],
    }
    return {"resourceType": "Parameters", "parameter": [{"name": "bundle", "resource": bundle}]}


def _parts(param: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for part in param["part"]:
        value = next(v for k, v in part.items() if k.startswith("value") or k == "resource")
        out.setdefault(part["name"], []).append(value)
    return out


@pytest.mark.parametrize("level", ["instance", "system"])
def test_icd_suggest_returns_ranked_suggestions(fhir: str, record: LabelledRecord, level: str) -> None:
    if level == "instance":
        resp = httpx.post(f"{fhir}/Encounter/enc-{record.id}/$icd-suggest", timeout=TIMEOUT)
    else:
        resp = httpx.post(f"{fhir}/$icd-suggest", json=_bundle_param(record), timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text[:500]
    body = resp.json()
    Parameters.model_validate(body)
    suggestions = [_parts(p) for p in body["parameter"] if p["name"] == "suggestion"]
    assert len(suggestions) == len(body["parameter"])
    primaries = [s for s in suggestions if s["role"] == ["primary"]]
    assert sum(1 for s in primaries if s["rank"] == [1]) == 1
    best = next(s for s in primaries if s["rank"] == [1])
    assert best["code"][0] == {"system": ICD_SYSTEM, "code": record.primary, "display": "急性下壁心肌梗死"}
    assert best["tier"] == ["accept"]
    assert all(q in record.note for q in best["evidence"])
    condition = best["condition"][0]
    assert condition["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    secondary = {s["code"][0]["code"] for s in suggestions if s["role"] == ["secondary"]}
    assert secondary == record.secondary


def test_cdi_review_returns_detected_issues(fhir: str, record: LabelledRecord) -> None:
    resp = httpx.post(f"{fhir}/Encounter/enc-{record.id}/$cdi-review", timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text[:500]
    Bundle.model_validate(resp.json())
    issues = [e["resource"] for e in resp.json()["entry"]]
    assert {i["code"]["coding"][0]["code"] for i in issues} == record.cdi
    assert all(i["resourceType"] == "DetectedIssue" and i["detail"] for i in issues)


def test_draft_is_stored_versioned_and_finalised_with_if_match(fhir: str, record: LabelledRecord) -> None:
    url = f"{fhir}/Encounter/enc-{record.id}/$draft-discharge-summary"
    first = httpx.post(url, timeout=TIMEOUT)
    assert first.status_code == 200, first.text[:500]
    resources = [e["resource"] for e in first.json()["entry"]]
    doc = next(r for r in resources if r["resourceType"] == "DocumentReference")
    prov = next(r for r in resources if r["resourceType"] == "Provenance")
    assert doc["docStatus"] == "preliminary"
    assert doc["type"]["coding"][0]["code"] == "18842-5"
    text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8")
    assert "【诊疗经过】" in text
    assert "冠状动脉造影示右冠状动脉近段完全闭塞" in text
    assert prov["target"] == [{"reference": f"DocumentReference/{doc['id']}/_history/1"}]
    assert {"reference": f"DocumentReference/note-{record.id}"} in [e["what"] for e in prov["entity"]]

    second = httpx.post(url, timeout=TIMEOUT).json()
    doc2 = next(
        e["resource"] for e in second["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    )
    assert doc2["meta"]["versionId"] == "2"
    stored = httpx.get(f"{fhir}/DocumentReference/{doc['id']}", timeout=TIMEOUT)
    assert stored.status_code == 200

    final = {**stored.json(), "docStatus": "final"}
    stale = httpx.put(
        f"{fhir}/DocumentReference/{doc['id']}", json=final, headers={"If-Match": 'W/"1"'}, timeout=TIMEOUT
    )
    assert stale.status_code == 412
    signed = httpx.put(
        f"{fhir}/DocumentReference/{doc['id']}",
        json=final,
        headers={"If-Match": stored.headers["ETag"]},
        timeout=TIMEOUT,
    )
    assert signed.status_code == 200, signed.text[:500]
    assert signed.json()["docStatus"] == "final"
    again = httpx.post(url, timeout=TIMEOUT)
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"


def test_system_level_draft_stores_nothing(fhir: str, record: LabelledRecord) -> None:
    resp = httpx.post(f"{fhir}/$draft-discharge-summary", json=_bundle_param(record), timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text[:500]
    doc = resp.json()["entry"][0]["resource"]
    assert doc["resourceType"] == "DocumentReference"
    assert "meta" not in doc


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("$icd-suggest", {"resourceType": "Parameters", "parameter": []}, 400),
        (
            "$cdi-review",
            {"resourceType": "Parameters", "parameter": [{"name": "nope", "valueString": "x"}]},
            400,
        ),
        ("Encounter/does-not-exist/$icd-suggest", None, 404),
        ("Encounter/does-not-exist/$draft-discharge-summary", None, 404),
    ],
)
def test_bad_input_is_a_4xx_operation_outcome(fhir: str, path: str, body: Any, status: int) -> None:
    resp = httpx.post(f"{fhir}/{path}", json=body, timeout=TIMEOUT)
    assert resp.status_code == status, resp.text[:300]
    assert resp.json()["resourceType"] == "OperationOutcome"


def test_capability_statement_lists_the_operations(fhir: str) -> None:
    cap = httpx.get(f"{fhir}/metadata", timeout=TIMEOUT).json()
    names = {
        op["name"]
        for rest in cap["rest"]
        for res in rest.get("resource", [])
        for op in res.get("operation", [])
    }
    names |= {op["name"] for rest in cap["rest"] for op in rest.get("operation", [])}
    assert {"draft-discharge-summary", "cdi-review", "icd-suggest"} <= names


def test_discharge_hook_offers_draft_cdi_and_icd_cards(fhir: str, record: LabelledRecord) -> None:
    patient, encounter, note = record.resources()
    request = {
        "hook": "encounter-discharge",
        "hookInstance": "d1f3c1f0-0000-4000-8000-000000000001",
        "context": {
            "userId": "Practitioner/doc-1",
            "patientId": patient["id"],
            "encounterId": encounter["id"],
        },
        "prefetch": {
            "patient": patient,
            "encounter": encounter,
            "documentReferences": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": note}],
            },
            **{k: {"resourceType": "Bundle", "type": "searchset", "entry": []} for k in EMPTY_PREFETCH},
        },
    }
    base = fhir.removesuffix("/fhir")
    resp = httpx.post(f"{base}/cds-services/medqc-discharge-qc", json=request, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text[:500]
    cards = resp.json()["cards"]
    draft = next(c for c in cards if c["summary"].startswith("出院记录草稿"))
    assert draft["links"]
    assert draft["suggestions"][0]["actions"][0]["resource"]["resourceType"] == "DocumentReference"
    cdi = [c for c in cards if c["summary"].startswith("病历文书待完善")]
    assert {c["source"]["topic"]["code"] for c in cdi} == record.cdi
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[c["indicator"]] for c in cdi] == sorted(order[c["indicator"]] for c in cdi)
    icd = next(c for c in cards if c["summary"].startswith("建议的ICD-10编码"))
    created = [s["actions"][0]["resource"] for s in icd["suggestions"]]
    assert all(r["resourceType"] == "Condition" for r in created)
    assert record.primary in {r["code"]["coding"][0]["code"] for r in created}


def _cdi_issues(fhir: str, encounter: str) -> list[dict[str, Any]]:
    found = httpx.get(
        f"{fhir}/DetectedIssue",
        params={"implicated": f"Encounter/{encounter}", "_count": "100"},
        timeout=TIMEOUT,
    )
    assert found.status_code == 200, found.text[:300]
    return [e["resource"] for e in found.json().get("entry") or []]


def test_cdi_gaps_are_stored_once_and_superseded_when_the_record_changes(fhir: str) -> None:
    other = next(r for r in load_records(RECORDS_DIR / "dev") if r.id == "D06")
    loaded = httpx.post(fhir, json=as_transaction(other.resources()), timeout=TIMEOUT)
    assert loaded.status_code == 200, loaded.text[:300]
    url = f"{fhir}/Encounter/enc-{other.id}/$cdi-review"
    first = httpx.post(url, timeout=TIMEOUT)
    second = httpx.post(url, timeout=TIMEOUT)
    assert first.status_code == second.status_code == 200, second.text[:300]
    returned = [e["resource"] for e in second.json()["entry"]]
    stored = _cdi_issues(fhir, f"enc-{other.id}")
    assert len(stored) == len(other.cdi) == len(returned)  # run twice, stored once
    assert {i["code"]["coding"][0]["code"] for i in stored} == other.cdi
    assert {i["meta"]["versionId"] for i in stored} == {"1"}
    assert [i["id"] for i in returned] == [e["resource"]["id"] for e in first.json()["entry"]]

    # the clinician documents the procedure: that gap is closed, the other one re-raised on the new record
    procedure = {
        "resourceType": "Procedure",
        "id": f"proc-{other.id}",
        "status": "completed",
        "code": {"text": "经皮冠状动脉支架植入术"},
        "subject": {"reference": f"Patient/pat-{other.id}"},
        "encounter": {"reference": f"Encounter/enc-{other.id}"},
    }
    put = httpx.put(f"{fhir}/Procedure/{procedure['id']}", json=procedure, timeout=TIMEOUT)
    assert put.status_code in (200, 201), put.text[:300]
    third = httpx.post(url, timeout=TIMEOUT)
    assert third.status_code == 200, third.text[:300]
    assert {e["resource"]["code"]["coding"][0]["code"] for e in third.json()["entry"]} == other.cdi - {
        "CDI-PROC-RECORD"
    }
    after = {i["code"]["coding"][0]["code"]: i for i in _cdi_issues(fhir, f"enc-{other.id}")}
    assert len(after) == len(other.cdi)  # nothing duplicated
    assert after["CDI-PROC-RECORD"]["status"] == "cancelled"
    assert after["CDI-PROC-RECORD"]["meta"]["versionId"] == "2"
    kept = after["CDI-AMI-SITE"]
    assert (kept["status"], kept["meta"]["versionId"]) == ("preliminary", "2")
    history = httpx.get(f"{fhir}/DetectedIssue/{kept['id']}/_history", timeout=TIMEOUT)
    assert history.json()["total"] == 2


def test_system_level_cdi_review_stores_nothing(fhir: str, record: LabelledRecord) -> None:
    before = len(_cdi_issues(fhir, f"enc-{record.id}"))
    resp = httpx.post(f"{fhir}/$cdi-review", json=_bundle_param(record), timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text[:300]
    assert all("meta" not in e["resource"] for e in resp.json()["entry"])
    assert len(_cdi_issues(fhir, f"enc-{record.id}")) == before
