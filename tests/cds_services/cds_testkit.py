"""Test kit of the CDS service: a small app with the router and app.state, a fake EHR, JWT signing."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from cds_services.cors import add_cds_cors
from cds_services.findings import EvidenceItem, FactFinding, IndicatorFinding
from cds_services.router import router
from cds_services.tables import CdsCardRow  # noqa: F401  (registers the tables on Base.metadata)
from fhir_ops.data_access.record import EncounterRecord, Resource, record_from_resources
from fhir_ops.errors import NotFound
from medqc.db import Base, Database
from medqc.settings import Settings

BASE_URL = "http://testserver"
ISSUER = "https://ehr.example.org/"
EHR_FHIR = "https://ehr.example.org/fhir"
EHR_TOKEN = "ehr-access-token"
DISCHARGE_URL = f"{BASE_URL}/cds-services/medqc-discharge-qc"
PATIENT_VIEW_URL = f"{BASE_URL}/cds-services/medqc-patient-quality"
DISCOVERY_URL = f"{BASE_URL}/cds-services"
SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "cds-hooks" / "hl7-spec"

AF_SNOMED = "49436004"
CHA2DS2_VASC_TEXT = "CHA2DS2-VASc"


# --- the EHR's clinical data --------------------------------------------------------------------------


def af_patient_resources(patient_id: str = "p1", encounter_id: str = "e1") -> list[Resource]:
    """An atrial-fibrillation inpatient stay without a CHA2DS2-VASc assessment."""
    note = "患者房颤病史5年，本次因心悸入院。未行CHA2DS2-VASc评分。".encode()
    return [
        {"resourceType": "Patient", "id": patient_id, "gender": "male", "birthDate": "1950-01-01"},
        {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": "2024-03-01", "end": "2024-03-08"},
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": AF_SNOMED}]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "encounter": {"reference": f"Encounter/{encounter_id}"},
        },
        {
            "resourceType": "DocumentReference",
            "id": "d1",
            "status": "current",
            "subject": {"reference": f"Patient/{patient_id}"},
            "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]},
            "content": [
                {"attachment": {"contentType": "text/plain", "data": base64.b64encode(note).decode()}}
            ],
        },
    ]


def searchset(resources: list[Resource]) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def full_prefetch(resources: list[Resource]) -> dict[str, Any]:
    """The prefetch of ``medqc-discharge-qc`` for these resources, every key present."""
    by_type: dict[str, list[Resource]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    return {
        "patient": by_type["Patient"][0],
        "encounter": by_type["Encounter"][0],
        "conditions": searchset(by_type.get("Condition", [])),
        "observations": searchset(by_type.get("Observation", [])),
        "procedures": searchset(by_type.get("Procedure", [])),
        "medicationRequests": searchset(by_type.get("MedicationRequest", [])),
        "documentReferences": searchset(by_type.get("DocumentReference", [])),
    }


def discharge_request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "encounter-discharge",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/doc1", "patientId": "p1", "encounterId": "e1"},
        "prefetch": full_prefetch(af_patient_resources()),
    }
    body.update(overrides)
    return body


# --- fakes of the seams -------------------------------------------------------------------------------


class AfAssessmentEvaluator:
    """Test evaluator: an AF stay must have a CHA2DS2-VASc assessment (Observation or note)."""

    def __init__(self) -> None:
        self.calls: list[EncounterRecord] = []

    async def __call__(self, record: EncounterRecord) -> list[IndicatorFinding]:
        self.calls.append(record)
        has_af = any(
            c.get("code", {}).get("coding", [{}])[0].get("code") == AF_SNOMED for c in record.conditions
        )
        if not has_af:
            return []
        evidence = [
            EvidenceItem(reference=f"Observation/{o['id']}")
            for o in record.observations
            if CHA2DS2_VASC_TEXT in str(o.get("code", {}).get("text", ""))
        ]
        quote = next((n for n in record.notes if "未行CHA2DS2-VASc评分" in n.text), None)
        if quote is not None:
            evidence.append(EvidenceItem(reference=quote.reference, quote="未行CHA2DS2-VASc评分"))
        assessed = any(e.reference and e.reference.startswith("Observation/") for e in evidence)
        return [
            IndicatorFinding(
                key="AF-2",
                title="房颤患者 CHA2DS2-VASc 评分",
                verdict="met" if assessed else "not-met",
                definition_url="https://medqc.example/Measure/AF-2",
                definition="非瓣膜性房颤患者住院期间应完成血栓栓塞风险评估（CHA2DS2-VASc）。",
                core=True,
                facts=(
                    FactFinding(
                        fact_id="af",
                        question="非瓣膜性房颤诊断",
                        value=True,
                        evidence=(EvidenceItem(reference="Condition/c1"),),
                    ),
                    FactFinding(
                        fact_id="cha2ds2vasc",
                        question="完成 CHA2DS2-VASc 评分",
                        value=assessed,
                        evidence=tuple(evidence),
                    ),
                ),
            )
        ]


class MemoryDataSource:
    """The configured data source (embedded store stand-in) over a list of resources."""

    def __init__(self, resources: list[Resource]) -> None:
        self.resources = resources
        self.calls = 0

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        self.calls += 1
        record = record_from_resources(self.resources, encounter_id)
        if record.encounter is None:
            raise NotFound(f"Encounter/{encounter_id}")
        return record

    async def patient_encounters(self, patient_id: str) -> list[Resource]:
        self.calls += 1
        return [
            r
            for r in self.resources
            if r["resourceType"] == "Encounter" and r["subject"]["reference"] == f"Patient/{patient_id}"
        ]


@dataclass
class FakeEhrFhir:
    """The EHR's FHIR server: answers reads and searches, checks the bearer token."""

    resources: list[Resource]
    token: str = EHR_TOKEN
    down: bool = False
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401)
        path = request.url.path.removeprefix("/fhir/")
        parts = path.split("/")
        if len(parts) == 2:
            for r in self.resources:
                if r["resourceType"] == parts[0] and r["id"] == parts[1]:
                    return httpx.Response(200, json=r)
            return httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})
        params = dict(request.url.params)
        matches = [r for r in self.resources if r["resourceType"] == parts[0] and _matches(r, params)]
        return httpx.Response(200, json=searchset(matches))


def _matches(resource: Resource, params: dict[str, str]) -> bool:
    patient = params.get("patient")
    if patient and (resource.get("subject") or {}).get("reference") != f"Patient/{patient}":
        return False
    encounter = params.get("encounter")
    if encounter:
        ref = resource.get("encounter") or (resource.get("context") or {}).get("encounter")
        ref = ref[0] if isinstance(ref, list) else ref
        if (ref or {}).get("reference") != f"Encounter/{encounter}":
            return False
    return True


# --- keys and tokens ----------------------------------------------------------------------------------


@dataclass
class Signer:
    es_key: ECKey
    rs_key: RSAKey
    jwks_path: Path

    def token(
        self,
        aud: str,
        *,
        alg: str = "ES384",
        key: Any = None,
        iss: str = ISSUER,
        exp_in: float = 300,
        iat_offset: float = 0,
        jti: str | None = None,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        key = key if key is not None else (self.es_key if alg == "ES384" else self.rs_key)
        hdr = {"alg": alg, "kid": key.kid, "typ": "JWT", **(header or {})}
        body = {
            "iss": iss,
            "aud": aud,
            "exp": now + exp_in,
            "iat": now + iat_offset,
            "jti": jti or str(uuid.uuid4()),
            "tenant": "t1",
            **(claims or {}),
        }
        return jwt.encode(hdr, body, key, algorithms=[alg])

    def auth(self, aud: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(aud, **kwargs)}"}


# --- the app ------------------------------------------------------------------------------------------


@dataclass
class CdsHarness:
    app: FastAPI
    client: httpx.AsyncClient
    db: Database
    signer: Signer
    ehr: FakeEhrFhir
    evaluator: AfAssessmentEvaluator
    data_source: MemoryDataSource

    def auth(self, aud: str = DISCHARGE_URL, **kwargs: Any) -> dict[str, str]:
        return self.signer.auth(aud, **kwargs)


async def make_harness(
    tmp_path: Path, signer: Signer, *, settings_overrides: dict[str, Any] | None = None
) -> tuple[CdsHarness, Callable[[], Any]]:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/cds.sqlite",
        "cds_auth": "on",
        "cds_issuers": json.dumps({ISSUER: str(signer.jwks_path)}),
        **(settings_overrides or {}),
    }
    settings = Settings(**values)
    db = Database(settings.database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    ehr = FakeEhrFhir(resources=af_patient_resources())
    app = FastAPI()
    app.include_router(router)
    add_cds_cors(app, settings)
    evaluator = AfAssessmentEvaluator()
    data_source = MemoryDataSource(af_patient_resources())
    app.state.settings = settings
    app.state.db = db
    app.state.cds_evaluator = evaluator
    app.state.data_source = data_source
    app.state.http_client = httpx.AsyncClient(transport=httpx.MockTransport(ehr.handler))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
    harness = CdsHarness(app, client, db, signer, ehr, evaluator, data_source)

    async def close() -> None:
        await client.aclose()
        await app.state.http_client.aclose()
        await db.dispose()

    return harness, close


def new_signer(tmp_path: Path) -> Signer:
    es_key = ECKey.generate_key("P-384", parameters={"kid": "es-1", "alg": "ES384", "use": "sig"})
    rs_key = RSAKey.generate_key(2048, parameters={"kid": "rs-1", "alg": "RS384", "use": "sig"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [es_key.as_dict(private=False), rs_key.as_dict(private=False)]}))
    return Signer(es_key=es_key, rs_key=rs_key, jwks_path=path)
