"""CDS Hooks 2.0 conformance of the live app over HTTP (issue 6): real JWTs, a second MedQC as the EHR.

Three real servers (uvicorn, each in a thread): ``app`` (MedQC with ``cds_auth=on``, a JWKS file of
generated ES384/RS384 keys configured through ``cds_issuers``, a CORS origin), ``ehr`` (another MedQC
acting as the EHR's FHIR server: ``fhir_access_token`` set, a Synthea atrial-fibrillation patient loaded)
and, for persistence, ``replica`` (a third MedQC on the app's database). The checks themselves are in
:mod:`conformance.cds_checks` and run against any base URL.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.cds_checks import (
    DISCHARGE_PREFETCH_TYPES,
    DISCHARGE_SERVICE,
    JWT_ATTACKS,
    MEDQC_SERVICES,
    PATIENT_VIEW_SERVICE,
    CdsConformance,
    ClientKeys,
    bundle_resources,
    discharge_context,
    discharge_prefetch,
    example_files,
    hook_request,
    hook_response_problems,
    hooks_served,
    now_iso,
)
from medqc.bundles import as_transaction, read_resources
from tests.conftest import SHARED, make_settings
from tests.support.live import free_port, live_server

ISSUER = "https://ehr.example.org/"
EHR_TOKEN = "ehr-token-" + uuid.uuid4().hex
ORIGIN = "https://sandbox.cds-hooks.org"
AF_SNOMED = "49436004"
SYNTHEA_AF = SHARED / "fhir" / "synthea" / "Max_Dicki_d9f8849f-e4a7-4ced-b057-c618db16a117.json"
SPEC_DIR = SHARED / "cds-hooks" / "hl7-spec"

pytestmark = pytest.mark.skipif(not SYNTHEA_AF.exists(), reason="../shared/data is not beside the repository")


@dataclass
class Ehr:
    """The EHR's FHIR server (a MedQC instance requiring a bearer token) and the patient it holds."""

    fhir: str
    resources: list[dict[str, Any]]
    patient_id: str
    encounter_id: str  # the stay with the atrial-fibrillation diagnosis

    def authorization(self, token: str = EHR_TOKEN) -> dict[str, Any]:
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "medqc-discharge-qc",
        }

    def context(self) -> dict[str, str]:
        return {
            "userId": "Practitioner/doc-1",
            "patientId": self.patient_id,
            "encounterId": self.encounter_id,
        }


@dataclass
class App:
    base: str
    tmp: Path
    jwks: Path
    checks: CdsConformance


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys.generate(ISSUER)


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehr]:
    tmp = tmp_path_factory.mktemp("ehr")
    settings = make_settings(
        "sqlite", tmp, fhir_access_token=EHR_TOKEN, seed_catalog=False, page_size_default=2
    )
    with live_server(settings) as base:
        fhir = f"{base}/fhir"
        bundle = as_transaction(read_resources(SYNTHEA_AF))
        loaded = httpx.post(fhir, json=bundle, headers={"Authorization": f"Bearer {EHR_TOKEN}"}, timeout=60)
        assert loaded.status_code == 200, loaded.text[:500]
        resources = bundle_resources(json.loads(SYNTHEA_AF.read_text(encoding="utf-8")))
        af = next(
            r
            for r in resources
            if r["resourceType"] == "Condition"
            and any(c.get("code") == AF_SNOMED for c in r["code"].get("coding", []))
        )
        yield Ehr(
            fhir=fhir,
            resources=resources,
            patient_id=af["subject"]["reference"].split("/")[-1],
            encounter_id=af["encounter"]["reference"].split("/")[-1],
        )


def _app_settings(tmp: Path, jwks: Path, **overrides: Any) -> Any:
    return make_settings(
        "sqlite",
        tmp,
        cds_auth="on",
        cds_issuers=json.dumps({ISSUER: str(jwks)}),
        cds_cors_origins=ORIGIN,
        **overrides,
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, keys: ClientKeys) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("app")
    jwks = tmp / "ehr-jwks.json"
    jwks.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    with live_server(_app_settings(tmp, jwks)) as base, CdsConformance(base, keys) as checks:
        yield App(base=base, tmp=tmp, jwks=jwks, checks=checks)


@pytest.fixture(scope="module")
def complete(ehr: Ehr) -> dict[str, Any]:
    """The complete discharge prefetch of the AF stay, built from the Synthea bundle."""
    return discharge_prefetch(ehr.resources, ehr.encounter_id)


@pytest.fixture(scope="module")
def dead_fhir() -> str:
    """A FHIR base URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/fhir"


def _cards(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert hook_response_problems(body) == []
    assert body.get("systemActions") == []
    return list(body["cards"])


def _af_card(cards: list[dict[str, Any]]) -> dict[str, Any]:
    matches = [c for c in cards if "房颤" in c["source"]["topic"]["code"] and "血栓栓塞" in c["summary"]]
    assert len(matches) == 1, [c["summary"] for c in cards]
    return matches[0]


# --- discovery ----------------------------------------------------------------------------------------


def test_discovery_lists_both_services_with_prefetch_templates(app: App) -> None:
    result = app.checks.check_discovery(prefetch=DISCHARGE_PREFETCH_TYPES)
    assert result.ok, result.detail
    services = {s["id"]: s for s in app.checks.discovery().json()["services"]}
    discharge = services[DISCHARGE_SERVICE]
    assert discharge["title"]
    assert discharge["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert discharge["prefetch"]["encounter"] == "Encounter/{{context.encounterId}}"
    searches = [t for t in discharge["prefetch"].values() if "?" in t]
    assert len(searches) == 5
    assert all(
        "patient={{context.patientId}}" in t and "encounter={{context.encounterId}}" in t for t in searches
    )
    assert "{{context.patientId}}" in services[PATIENT_VIEW_SERVICE]["prefetch"]["patient"]


def test_discovery_requires_a_client_jwt(app: App) -> None:
    result = app.checks.check_discovery_requires_auth()
    assert result.ok, result.detail
    wrong_aud = app.checks.discovery(headers=app.checks.auth(app.checks.url(DISCHARGE_SERVICE)))
    assert wrong_aud.status_code == 401


# --- client authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", JWT_ATTACKS)
def test_bad_client_jwt_is_a_bare_401(app: App, ehr: Ehr, complete: dict[str, Any], case: str) -> None:
    body = hook_request("encounter-discharge", ehr.context(), prefetch=complete)
    result = app.checks.check_jwt_rejected(case, DISCHARGE_SERVICE, body)
    assert result.ok, result.detail


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_signed_client_jwt_is_accepted(app: App, ehr: Ehr, complete: dict[str, Any], alg: str) -> None:
    body = hook_request("encounter-discharge", ehr.context(), prefetch=complete)
    result = app.checks.check_jwt_accepted(alg, DISCHARGE_SERVICE, body)
    assert result.ok, result.detail


def test_replayed_jti_is_rejected(app: App, ehr: Ehr, complete: dict[str, Any]) -> None:
    body = hook_request("encounter-discharge", ehr.context(), prefetch=complete)
    result = app.checks.check_replayed_jti(DISCHARGE_SERVICE, body)
    assert result.ok, result.detail


def test_feedback_requires_a_client_jwt(app: App) -> None:
    entry = {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": now_iso()}
    url = app.checks.url(DISCHARGE_SERVICE, "feedback")
    response = app.checks.client.post(url, json={"feedback": [entry]})
    assert response.status_code == 401
    assert response.content == b""


# --- request validation -------------------------------------------------------------------------------


def _malformed_cases() -> list[str]:
    valid = hook_request("encounter-discharge", {"userId": "u", "patientId": "p", "encounterId": "e"})
    return list(CdsConformance("http://unused").malformed_requests(DISCHARGE_SERVICE, valid))


@pytest.mark.parametrize("case", _malformed_cases())
def test_malformed_request_is_a_400_with_a_message(
    app: App, ehr: Ehr, complete: dict[str, Any], case: str
) -> None:
    valid = hook_request("encounter-discharge", ehr.context(), prefetch=complete)
    result = app.checks.check_malformed(case, DISCHARGE_SERVICE, valid)
    assert result.ok, result.detail


def test_unknown_service_is_a_404(app: App, ehr: Ehr, complete: dict[str, Any]) -> None:
    result = app.checks.check_unknown_service(
        hook_request("encounter-discharge", ehr.context(), prefetch=complete)
    )
    assert result.ok, result.detail


# --- prefetch and the EHR's FHIR server ---------------------------------------------------------------


def test_the_ehr_server_checks_its_bearer_token(ehr: Ehr) -> None:
    url = f"{ehr.fhir}/Encounter/{ehr.encounter_id}"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {EHR_TOKEN}"}, timeout=10).status_code == 200


def test_missing_prefetch_is_fetched_from_the_ehr(app: App, ehr: Ehr) -> None:
    body = hook_request(
        "encounter-discharge", ehr.context(), fhirServer=ehr.fhir, fhirAuthorization=ehr.authorization()
    )
    card = _af_card(_cards(app.checks.call(DISCHARGE_SERVICE, body)))
    assert card["indicator"] in ("critical", "warning", "info")
    assert len(card["summary"]) < 140
    assert card["uuid"]
    assert "CHA2DS2-VASc" in card["detail"]
    assert "*Facts checked*" in card["detail"]
    assert card["source"]["url"].startswith(app.base)
    assert {r["code"] for r in card["overrideReasons"]} >= {"documented-elsewhere", "not-applicable"}
    review = [link for link in card["links"] if link["type"] == "absolute"]
    assert review
    assert review[0]["url"].startswith(app.base)
    assert ehr.encounter_id in review[0]["url"]
    assert card["selectionBehavior"] in ("at-most-one", "any")
    task = card["suggestions"][0]["actions"][0]
    assert task["type"] == "create"
    assert task["resource"]["resourceType"] == "Task"
    assert task["resource"]["encounter"]["reference"] == f"Encounter/{ehr.encounter_id}"


def test_partial_prefetch_fetches_only_the_absent_keys(app: App, ehr: Ehr, complete: dict[str, Any]) -> None:
    partial = {k: complete[k] for k in ("patient", "encounter", "observations")}
    body = hook_request(
        "encounter-discharge",
        ehr.context(),
        prefetch=partial,
        fhirServer=ehr.fhir,
        fhirAuthorization=ehr.authorization(),
    )
    _af_card(_cards(app.checks.call(DISCHARGE_SERVICE, body)))


def test_wrong_token_on_the_ehr_side_is_a_412(app: App, ehr: Ehr) -> None:
    body = hook_request(
        "encounter-discharge",
        ehr.context(),
        fhirServer=ehr.fhir,
        fhirAuthorization=ehr.authorization("not-the-ehr-token"),
    )
    response = app.checks.call(DISCHARGE_SERVICE, body)
    assert response.status_code == 412, response.text
    assert "not-the-ehr-token" not in response.text


def test_ehr_server_down_is_a_412(app: App, ehr: Ehr, dead_fhir: str) -> None:
    body = hook_request(
        "encounter-discharge", ehr.context(), fhirServer=dead_fhir, fhirAuthorization=ehr.authorization()
    )
    response = app.checks.call(DISCHARGE_SERVICE, body)
    assert response.status_code == 412, response.text
    assert response.json()["message"]


def test_missing_prefetch_without_fhir_server_is_a_412(app: App, ehr: Ehr, complete: dict[str, Any]) -> None:
    partial = {k: v for k, v in complete.items() if k != "conditions"}
    response = app.checks.call(
        DISCHARGE_SERVICE, hook_request("encounter-discharge", ehr.context(), prefetch=partial)
    )
    assert response.status_code == 412, response.text


def test_prefetch_key_with_null_means_no_data(
    app: App, ehr: Ehr, complete: dict[str, Any], dead_fhir: str
) -> None:
    """Null keys are not fetched (the fhirServer is down: a fetch would be a 412); absent keys are."""
    nulls = {**complete, "observations": None, "documentReferences": None, "procedures": None}
    body = hook_request("encounter-discharge", ehr.context(), prefetch=nulls, fhirServer=dead_fhir)
    _af_card(_cards(app.checks.call(DISCHARGE_SERVICE, body)))
    absent = {k: v for k, v in nulls.items() if v is not None}
    body = hook_request("encounter-discharge", ehr.context(), prefetch=absent, fhirServer=dead_fhir)
    assert app.checks.call(DISCHARGE_SERVICE, body).status_code == 412


def test_complete_prefetch_is_answered_without_any_fhir_server(
    app: App, ehr: Ehr, complete: dict[str, Any], dead_fhir: str
) -> None:
    fetched = _af_card(
        _cards(
            app.checks.call(
                DISCHARGE_SERVICE,
                hook_request(
                    "encounter-discharge",
                    ehr.context(),
                    fhirServer=ehr.fhir,
                    fhirAuthorization=ehr.authorization(),
                ),
            )
        )
    )
    for extra in ({}, {"fhirServer": dead_fhir, "fhirAuthorization": ehr.authorization()}):
        body = hook_request("encounter-discharge", ehr.context(), prefetch=complete, **extra)
        card = _af_card(_cards(app.checks.call(DISCHARGE_SERVICE, body)))
        assert card["indicator"] == fetched["indicator"]
        assert card["summary"] == fetched["summary"]
        assert card["uuid"] != fetched["uuid"]


def test_a_stay_without_findings_gets_no_cards(app: App, ehr: Ehr) -> None:
    other = next(
        r["id"]
        for r in ehr.resources
        if r["resourceType"] == "Encounter"
        and r["id"] != ehr.encounter_id
        and not any(
            x.get("resourceType") == "Condition"
            and x.get("encounter", {}).get("reference", "").endswith(r["id"])
            for x in ehr.resources
        )
    )
    prefetch = discharge_prefetch(ehr.resources, other)
    body = hook_request("encounter-discharge", discharge_context(prefetch), prefetch=prefetch)
    assert _cards(app.checks.call(DISCHARGE_SERVICE, body)) == []


def test_no_prefetch_and_no_fhir_server_reads_the_configured_store(app: App, ehr: Ehr) -> None:
    unknown = {**ehr.context(), "encounterId": "not-in-the-store"}
    response = app.checks.call(DISCHARGE_SERVICE, hook_request("encounter-discharge", unknown))
    assert response.status_code == 412, response.text
    loaded = httpx.post(f"{app.base}/fhir", json=as_transaction(read_resources(SYNTHEA_AF)), timeout=60)
    assert loaded.status_code == 200, loaded.text[:300]
    _af_card(_cards(app.checks.call(DISCHARGE_SERVICE, hook_request("encounter-discharge", ehr.context()))))


# --- spec examples ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", example_files(SPEC_DIR) if SPEC_DIR.exists() else [], ids=lambda p: p.name)
def test_spec_examples_are_answered_without_5xx(app: App, path: Path) -> None:
    result = app.checks.check_spec_example(path, hooks_served(MEDQC_SERVICES))
    assert result.ok, result.detail


def test_spec_examples_cover_both_hooks() -> None:
    hooks = {json.loads(p.read_text(encoding="utf-8")).get("hook") for p in example_files(SPEC_DIR)}
    assert {"patient-view"} <= hooks


# --- feedback and patient-view ------------------------------------------------------------------------


_SAMPLE = re.compile(r"^medqc_cds_feedback_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$", re.M)


def _feedback_count(base: str, outcome: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return sum(float(m["value"]) for m in _SAMPLE.finditer(text) if f'outcome="{outcome}"' in m["labels"])


def _discharge(app: App, ehr: Ehr) -> dict[str, Any]:
    body = hook_request(
        "encounter-discharge", ehr.context(), fhirServer=ehr.fhir, fhirAuthorization=ehr.authorization()
    )
    return _af_card(_cards(app.checks.call(DISCHARGE_SERVICE, body)))


def _patient_view(checks: CdsConformance, ehr: Ehr) -> list[dict[str, Any]]:
    context = {"userId": "Practitioner/doc-1", "patientId": ehr.patient_id}
    body = hook_request("patient-view", context, fhirServer=ehr.fhir, fhirAuthorization=ehr.authorization())
    return _cards(checks.call(PATIENT_VIEW_SERVICE, body))


def test_feedback_for_an_unknown_card_is_a_400(app: App) -> None:
    result = app.checks.check_feedback_unknown_card(DISCHARGE_SERVICE)
    assert result.ok, result.detail


def test_feedback_with_a_suggestion_the_card_did_not_offer_is_a_400(app: App, ehr: Ehr) -> None:
    card = _discharge(app, ehr)
    entry = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": str(uuid.uuid4())}],
        "outcomeTimestamp": now_iso(),
    }
    assert app.checks.feedback(DISCHARGE_SERVICE, [entry]).status_code == 400


def _open_findings(checks: CdsConformance, ehr: Ehr) -> str:
    """The detail of the patient-view card about the AF stay ('' when it has none)."""
    mine = [c for c in _patient_view(checks, ehr) if f"Encounter/{ehr.encounter_id}" in c["detail"]]
    assert len(mine) <= 1
    return str(mine[0]["detail"]) if mine else ""


def _override(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": card["overrideReasons"][0], "userComment": "scored on paper"},
        "outcomeTimestamp": now_iso(),
    }


def test_patient_view_shows_open_findings_and_feedback_is_persisted(
    app: App, ehr: Ehr, keys: ClientKeys
) -> None:
    body = hook_request(
        "encounter-discharge", ehr.context(), fhirServer=ehr.fhir, fhirAuthorization=ehr.authorization()
    )
    cards = _cards(app.checks.call(DISCHARGE_SERVICE, body))
    af, others = _af_card(cards), [c for c in cards if c["uuid"] != _af_card(cards)["uuid"]]
    shown = _open_findings(app.checks, ehr)
    assert all(c["summary"] in shown for c in cards), shown

    accepted_before = _feedback_count(app.base, "accepted")
    overridden_before = _feedback_count(app.base, "overridden")
    accepted = {
        "card": af["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": af["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": now_iso(),
    }
    response = app.checks.feedback(DISCHARGE_SERVICE, [accepted])
    assert response.status_code == 200, response.text
    assert _feedback_count(app.base, "accepted") == accepted_before + 1
    assert af["summary"] in _open_findings(app.checks, ehr)  # accepted: open until the record is fixed

    assert app.checks.feedback(DISCHARGE_SERVICE, [_override(af)]).status_code == 200
    assert _feedback_count(app.base, "overridden") == overridden_before + 1
    after = _open_findings(app.checks, ehr)
    assert af["summary"] not in after
    assert all(c["summary"] in after for c in others)

    # A second MedQC on the same database sees the stored cards and feedback.
    replica_settings = _app_settings(app.tmp, app.jwks, seed_catalog=False)
    with live_server(replica_settings) as replica, CdsConformance(replica, keys) as checks:
        assert _open_findings(checks, ehr) == after
        response = checks.feedback(DISCHARGE_SERVICE, [_override(c) for c in others])
        assert response.status_code == 200, response.text
        assert _open_findings(checks, ehr) == ""
    assert _open_findings(app.checks, ehr) == ""
    assert _feedback_count(app.base, "overridden") == overridden_before + 1 + len(others)
    again = app.checks.feedback(DISCHARGE_SERVICE, [accepted])  # a repeat is accepted, not counted twice
    assert again.status_code == 200, again.text
    assert _feedback_count(app.base, "accepted") == accepted_before + 1


# --- CORS ---------------------------------------------------------------------------------------------


def test_cors_preflight_from_a_configured_origin(app: App) -> None:
    result = app.checks.check_cors_preflight(ORIGIN)
    assert result.ok, result.detail
    other = app.checks.check_cors_preflight("https://evil.example")
    assert not other.ok
    simple = app.checks.discovery(headers={**app.checks.auth(app.checks.url()), "Origin": ORIGIN})
    assert simple.headers.get("access-control-allow-origin") in (ORIGIN, "*")


def test_patient_view_for_a_patient_with_many_encounters(app: App, ehr: Ehr) -> None:
    """recentEncounters asks for the 5 latest (``_count=5``): MedQC reads that page, not the whole history."""
    patient = "many-stays"
    entries = [
        {
            "resource": {"resourceType": "Patient", "id": patient},
            "request": {"method": "PUT", "url": f"Patient/{patient}"},
        }
    ]
    for i in range(120):
        day = f"20{10 + i // 12:02d}-{1 + i % 12:02d}-01"
        encounter = {
            "resourceType": "Encounter",
            "id": f"{patient}-{i}",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{patient}"},
            "period": {"start": day, "end": day},
        }
        entries.append(
            {"resource": encounter, "request": {"method": "PUT", "url": f"Encounter/{patient}-{i}"}}
        )
    loaded = httpx.post(
        ehr.fhir,
        json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        headers={"Authorization": f"Bearer {EHR_TOKEN}"},
        timeout=60,
    )
    assert loaded.status_code == 200, loaded.text[:300]
    context = {"userId": "Practitioner/doc-1", "patientId": patient}
    body = hook_request("patient-view", context, fhirServer=ehr.fhir, fhirAuthorization=ehr.authorization())
    assert _cards(app.checks.call(PATIENT_VIEW_SERVICE, body)) == []
