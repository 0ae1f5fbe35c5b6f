"""FHIR REST beyond CRUD, over HTTP on both backends: _history, conditional create/update/delete, JSON
Patch, Prefer: return, content negotiation (406 for XML), Allow on 405, HTTP-date Last-Modified."""

from __future__ import annotations

import uuid
from email.utils import parsedate_to_datetime

import httpx
import pytest

PATIENT = {"resourceType": "Patient", "name": [{"family": "李", "given": ["四"]}], "gender": "male"}
PATCH = {"Content-Type": "application/json-patch+json"}


@pytest.fixture(scope="module")
def fhir(server: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server}/fhir", timeout=30)


def _identifier() -> dict[str, str]:
    return {"system": "urn:test:mrn", "value": uuid.uuid4().hex}


def _issue(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]  # type: ignore[no-any-return]


def test_instance_history_lists_every_version_newest_first(fhir: httpx.Client) -> None:
    pid = fhir.post("/Patient", json=PATIENT).json()["id"]
    fhir.put(f"/Patient/{pid}", json={**PATIENT, "id": pid, "gender": "female"})
    fhir.delete(f"/Patient/{pid}")
    history = fhir.get(f"/Patient/{pid}/_history")
    assert history.status_code == 200
    bundle = history.json()
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    methods = [e["request"]["method"] for e in bundle["entry"]]
    assert methods == ["DELETE", "PUT", "POST"]
    assert "resource" not in bundle["entry"][0]
    assert bundle["entry"][1]["resource"]["gender"] == "female"
    assert [e["response"]["etag"] for e in bundle["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']


def test_type_and_system_history_page_and_filter_by_since(fhir: httpx.Client) -> None:
    first = fhir.post("/Practitioner", json={"resourceType": "Practitioner", "active": True}).json()
    since = first["meta"]["lastUpdated"]
    for _ in range(3):
        fhir.post("/Practitioner", json={"resourceType": "Practitioner", "active": False})
    page = fhir.get("/Practitioner/_history", params={"_since": since, "_count": 2}).json()
    assert page["total"] == 4
    assert len(page["entry"]) == 2
    assert {e["resource"]["resourceType"] for e in page["entry"]} == {"Practitioner"}
    next_url = next(link["url"] for link in page["link"] if link["relation"] == "next")
    rest = httpx.get(next_url, timeout=30).json()
    assert len(rest["entry"]) == 2
    seen = {e["resource"]["id"] for e in page["entry"] + rest["entry"]}
    assert first["id"] in seen
    everything = fhir.get("/_history", params={"_since": since}).json()
    assert everything["total"] >= 4


def test_history_of_an_unknown_resource_is_404_and_bad_parameters_400(fhir: httpx.Client) -> None:
    assert fhir.get("/Patient/never-existed/_history").status_code == 404
    assert fhir.get("/Patient/_history", params={"_since": "yesterday"}).status_code == 400
    assert fhir.get("/Patient/_history", params={"name": "x"}).status_code == 400


def test_if_none_exist_creates_once_then_returns_the_match(fhir: httpx.Client) -> None:
    ident = _identifier()
    body = {**PATIENT, "identifier": [ident]}
    criteria = {"If-None-Exist": f"identifier={ident['system']}|{ident['value']}"}
    created = fhir.post("/Patient", json=body, headers=criteria)
    assert created.status_code == 201
    again = fhir.post("/Patient", json=body, headers=criteria)
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]
    found = fhir.get("/Patient", params={"identifier": f"{ident['system']}|{ident['value']}"}).json()
    assert found["total"] == 1


def test_if_none_exist_with_several_matches_is_412(fhir: httpx.Client) -> None:
    family = f"Dup{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        fhir.post("/Patient", json={**PATIENT, "name": [{"family": family}]})
    answer = fhir.post("/Patient", json=PATIENT, headers={"If-None-Exist": f"family={family}"})
    assert answer.status_code == 412
    assert "matches 2" in str(_issue(answer)["diagnostics"])


def test_if_none_exist_with_an_unknown_parameter_is_400(fhir: httpx.Client) -> None:
    answer = fhir.post("/Patient", json=PATIENT, headers={"If-None-Exist": "no-such-param=1"})
    assert answer.status_code == 400


def test_conditional_update_creates_then_updates_the_match(fhir: httpx.Client) -> None:
    ident = _identifier()
    query = {"identifier": f"{ident['system']}|{ident['value']}"}
    body = {**PATIENT, "identifier": [ident]}
    created = fhir.put("/Patient", params=query, json=body)
    assert created.status_code == 201
    updated = fhir.put("/Patient", params=query, json={**body, "gender": "female"})
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["meta"]["versionId"] == "2"
    assert fhir.put("/Patient", json=body).status_code == 400  # no criteria: would match everything


def test_conditional_delete_removes_the_single_match(fhir: httpx.Client) -> None:
    ident = _identifier()
    pid = fhir.post("/Patient", json={**PATIENT, "identifier": [ident]}).json()["id"]
    gone = fhir.delete("/Patient", params={"identifier": f"{ident['system']}|{ident['value']}"})
    assert gone.status_code == 204
    assert fhir.get(f"/Patient/{pid}").status_code == 410


def test_json_patch_applies_and_versions(fhir: httpx.Client) -> None:
    pid = fhir.post("/Patient", json=PATIENT).json()["id"]
    ops = [
        {"op": "test", "path": "/gender", "value": "male"},
        {"op": "replace", "path": "/gender", "value": "female"},
        {"op": "add", "path": "/birthDate", "value": "1970-01-02"},
    ]
    patched = fhir.patch(f"/Patient/{pid}", json=ops, headers={**PATCH, "If-Match": 'W/"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["gender"] == "female"
    assert patched.json()["meta"]["versionId"] == "2"
    assert fhir.get(f"/Patient/{pid}").json()["birthDate"] == "1970-01-02"


@pytest.mark.parametrize(
    ("ops", "headers", "status"),
    [
        ([{"op": "test", "path": "/gender", "value": "other"}], {}, 422),
        ([{"op": "replace", "path": "/id", "value": "x"}], {}, 422),
        ([{"op": "replace", "path": "/birthDate", "value": "not a date"}], {}, 422),
        ([{"op": "jump", "path": "/gender"}], {}, 400),
        ({"op": "replace"}, {}, 400),
        ([{"op": "replace", "path": "/gender", "value": "female"}], {"If-Match": 'W/"9"'}, 412),
    ],
)
def test_json_patch_bad_input(fhir: httpx.Client, ops: object, headers: dict[str, str], status: int) -> None:
    pid = fhir.post("/Patient", json=PATIENT).json()["id"]
    answer = fhir.patch(f"/Patient/{pid}", json=ops, headers={**PATCH, **headers})
    assert answer.status_code == status, answer.text
    _issue(answer)
    assert fhir.get(f"/Patient/{pid}").json()["meta"]["versionId"] == "1"


def test_patch_needs_a_json_media_type_and_an_existing_resource(fhir: httpx.Client) -> None:
    pid = fhir.post("/Patient", json=PATIENT).json()["id"]
    ops = [{"op": "replace", "path": "/gender", "value": "female"}]
    text = {"Content-Type": "text/plain"}
    assert fhir.patch(f"/Patient/{pid}", content=b"[]", headers=text).status_code == 415
    assert fhir.patch("/Patient/nobody-here", json=ops, headers=PATCH).status_code == 404
    assert fhir.patch(f"/Patient/{pid}", json={"gender": "x"}, headers=PATCH).status_code == 400


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/fhir+json"])
def test_merge_patch_sets_and_removes_elements(fhir: httpx.Client, content_type: str) -> None:
    pid = fhir.post("/Patient", json={**PATIENT, "birthDate": "1980-05-06"}).json()["id"]
    patched = fhir.patch(
        f"/Patient/{pid}",
        json={"gender": "female", "birthDate": None},
        headers={"Content-Type": content_type},
    )
    assert patched.status_code == 200, patched.text
    stored = fhir.get(f"/Patient/{pid}").json()
    assert stored["gender"] == "female"
    assert "birthDate" not in stored
    assert stored["name"] == PATIENT["name"]
    changed_id = fhir.patch(f"/Patient/{pid}", json={"id": "other"}, headers={"Content-Type": content_type})
    assert changed_id.status_code == 422


def test_post_with_search_criteria_is_a_conditional_create(fhir: httpx.Client) -> None:
    ident = _identifier()
    query = {"identifier": f"{ident['system']}|{ident['value']}"}
    body = {**PATIENT, "identifier": [ident]}
    first = fhir.post("/Patient", params=query, json=body)
    again = fhir.post("/Patient", params=query, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize("preference", ["minimal", "representation", "OperationOutcome"])
def test_prefer_return(fhir: httpx.Client, preference: str) -> None:
    created = fhir.post("/Patient", json=PATIENT, headers={"Prefer": f"return={preference}"})
    assert created.status_code == 201
    assert created.headers["location"]
    if preference == "minimal":
        assert created.content == b""
    elif preference == "OperationOutcome":
        assert created.json()["resourceType"] == "OperationOutcome"
    else:
        assert created.json()["resourceType"] == "Patient"


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"_format": "xml"}, {}),
        ({"_format": "application/fhir+xml"}, {}),
        ({}, {"Accept": "application/fhir+xml"}),
    ],
)
def test_xml_is_not_acceptable(fhir: httpx.Client, params: dict[str, str], headers: dict[str, str]) -> None:
    answer = fhir.get("/Patient", params=params, headers=headers)
    assert answer.status_code == 406
    assert _issue(answer)["code"] == "not-supported"
    assert answer.headers["content-type"].startswith("application/fhir+json")


def test_json_or_any_accept_is_served(fhir: httpx.Client) -> None:
    for accept in ("application/fhir+json", "application/fhir+xml;q=0.9, */*;q=0.1", "application/json"):
        assert fhir.get("/metadata", headers={"Accept": accept}).status_code == 200


def test_405_names_the_allowed_methods(fhir: httpx.Client) -> None:
    answer = fhir.patch("/Patient", json=[], headers=PATCH)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST", "PUT", "DELETE"}
    pid = fhir.post("/Patient", json=PATIENT).json()["id"]
    allowed = fhir.post(f"/Patient/{pid}", json=PATIENT)
    assert allowed.status_code == 405
    assert set(allowed.headers["allow"].split(", ")) == {"GET", "PUT", "PATCH", "DELETE"}


def test_last_modified_is_an_http_date_matching_meta(fhir: httpx.Client) -> None:
    created = fhir.post("/Patient", json=PATIENT)
    stamp = parsedate_to_datetime(created.headers["last-modified"])
    meta = created.json()["meta"]["lastUpdated"]
    assert stamp.isoformat().startswith(meta[:19])
    read = fhir.get(f"/Patient/{created.json()['id']}")
    assert read.headers["last-modified"] == created.headers["last-modified"]


def test_capability_statement_says_what_is_supported(fhir: httpx.Client) -> None:
    cap = fhir.get("/metadata").json()
    rest = cap["rest"][0]
    assert {"code": "history-system"} in rest["interaction"]
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    codes = {i["code"] for i in patient["interaction"]}
    assert {"patch", "history-instance", "history-type", "create", "update"} <= codes
    assert patient["conditionalCreate"] is True
    assert patient["conditionalUpdate"] is True
    assert patient["conditionalDelete"] == "single"
    assert "Observation:subject" in patient["searchRevInclude"]
    assert "application/json-patch+json" in cap["patchFormat"]
    observation = next(r for r in rest["resource"] if r["type"] == "Observation")
    types = {p["name"]: p["type"] for p in observation["searchParam"]}
    assert types["value-quantity"] == "quantity"
