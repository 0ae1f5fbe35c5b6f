"""Input a FHIR server must accept or refuse cleanly: each case is a 2xx or a 4xx OperationOutcome naming
the problem, never a 500, on SQLite and PostgreSQL; the connection stays usable afterwards."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_ops.search.query import MAX_OR_VALUES, MAX_SORT_KEYS

DEMO = Path(__file__).resolve().parents[2] / "medqc" / "demo_data" / "af-inpatient.json"


@pytest.fixture(scope="module")
def fhir(server: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{server}/fhir", timeout=120)
    assert client.post("", json=json.loads(DEMO.read_text())).status_code == 200
    return client


def _outcome(response: httpx.Response, status: int | set[int]) -> dict[str, Any]:
    expected = status if isinstance(status, set) else {status}
    assert response.status_code in expected, (response.status_code, response.text[:300])
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"]
    return dict(body)


def _tx(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


# ---- dates at the end of the calendar ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["9999-12-31", "9999", "9999-12", "9999-12-31T23:59:59Z"])
def test_year_9999_is_stored_and_searched(fhir: httpx.Client, value: str) -> None:
    stored = fhir.post("/Patient", json={"resourceType": "Patient", "birthDate": value[:10]})
    assert stored.status_code == 201, stored.text
    for params in ({"birthdate": value}, {"birthdate": f"ge{value}"}, {"_lastUpdated": f"le{value}"}):
        found = fhir.get("/Patient", params=params)
        assert found.status_code == 200, (params, found.text[:300])
    assert fhir.get("/Patient", params={"birthdate": "9999-12-31"}).json()["total"] >= 1


# ---- paging, history, sorting, OR lists -------------------------------------------------------------


@pytest.mark.parametrize("offset", [str(2**63), str(2**63 - 1), str(2**31), "1" * 5000])
def test_offset_beyond_any_page_is_a_400(fhir: httpx.Client, offset: str) -> None:
    _outcome(fhir.get("/Patient", params={"_offset": offset}), 400)


@pytest.mark.parametrize("version", [str(2**31), str(2**63), "9" * 40, "²"])
def test_huge_history_version_is_a_404(fhir: httpx.Client, version: str) -> None:
    _outcome(fhir.get(f"/Patient/demo-af-patient/_history/{version}"), 404)


def test_sort_with_20000_keys_is_a_400(fhir: httpx.Client) -> None:
    body = _outcome(fhir.post("/Patient/_search", data={"_sort": ",".join(["birthdate"] * 20_000)}), 400)
    assert str(MAX_SORT_KEYS) in body["issue"][0]["diagnostics"]


def test_or_list_of_40000_codes_is_a_400(fhir: httpx.Client) -> None:
    codes = ",".join(f"http://snomed.info/sct|{n}" for n in range(40_000))
    body = _outcome(fhir.post("/Condition/_search", data={"code": codes}), 400)
    assert str(MAX_OR_VALUES) in body["issue"][0]["diagnostics"]


# ---- nesting and NUL --------------------------------------------------------------------------------


def test_450_nested_extensions_are_a_400(fhir: httpx.Client) -> None:
    extension: dict[str, Any] = {"url": "http://x/e", "valueString": "leaf"}
    for _ in range(450):
        extension = {"url": "http://x/e", "extension": [extension]}
    body = json.dumps({"resourceType": "Patient", "extension": [extension]})
    _outcome(fhir.post("/Patient", content=body, headers={"Content-Type": "application/fhir+json"}), 400)


@pytest.mark.parametrize(
    "request_",
    [
        ("POST", "/Patient", {"resourceType": "Patient", "name": [{"text": "a\x00b"}]}),
        (
            "POST",
            "/Patient",
            {"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "\x00"}]},
        ),
        ("PUT", "/Patient/nul", {"resourceType": "Patient", "id": "nul", "gender": "male\x00"}),
        (
            "POST",
            "",
            _tx(
                [
                    {
                        "resource": {"resourceType": "Patient", "name": [{"family": "\x00"}]},
                        "request": {"method": "POST", "url": "Patient"},
                    }
                ]
            ),
        ),
    ],
    ids=["name", "identifier", "put", "transaction"],
)
def test_nul_in_a_string_is_a_400(fhir: httpx.Client, request_: tuple[str, str, dict[str, Any]]) -> None:
    method, path, body = request_
    _outcome(fhir.request(method, path, json=body), 400)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/Patient", {"name": "a\x00"}, 400),
        ("/Patient", {"identifier": "urn:x|\x00"}, 400),
        ("/Patient", {"_id": "a\x00"}, 400),
        ("/Patient/a%00b", {}, 404),
        ("/Patient/a%00b/_history/1", {}, 404),
    ],
)
def test_nul_in_a_search_or_id_is_refused(
    fhir: httpx.Client, path: str, params: dict[str, str], status: int
) -> None:
    _outcome(fhir.get(path, params=params), status)


def test_nul_delete_is_a_no_op(fhir: httpx.Client) -> None:
    assert fhir.delete("/Patient/a%00b").status_code == 204


# ---- transaction entries of the wrong JSON type -----------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        {
            "resource": {"resourceType": "Patient", "id": "p"},
            "request": {"method": "PUT", "url": "Patient/p", "ifMatch": 1},
        },
        {
            "fullUrl": ["urn:uuid:x"],
            "resource": {"resourceType": "Patient"},
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "resource": {"resourceType": "Patient"},
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": {"a": 1}},
        },
        {"resource": {"resourceType": "Patient"}, "request": {"method": 5, "url": "Patient"}},
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": ["Patient"]}},
    ],
    ids=["ifMatch-number", "fullUrl-list", "ifNoneExist-object", "method-number", "url-list"],
)
def test_transaction_members_of_the_wrong_type_are_a_400(fhir: httpx.Client, entry: dict[str, Any]) -> None:
    _outcome(fhir.post("", json=_tx([entry])), 400)


# ---- operations with parameters of the wrong shape --------------------------------------------------


def _demo_bundle() -> dict[str, Any]:
    return dict(json.loads(DEMO.read_text()))


def _with(resource_type: str, change: Any) -> dict[str, Any]:
    bundle = copy.deepcopy(_demo_bundle())
    bundle["type"] = "collection"
    for entry in bundle["entry"]:
        entry.pop("request", None)
        if entry["resource"]["resourceType"] == resource_type:
            change(entry["resource"])
    return bundle


def _set(key: str, value: Any) -> Any:
    return lambda resource: resource.__setitem__(key, value)


def _data_number(resource: dict[str, Any]) -> None:
    resource["content"][0]["attachment"]["data"] = 12345


@pytest.mark.parametrize(
    "bundle",
    [
        _with("Condition", _set("code", "I48")),
        _with("DocumentReference", _set("content", "the note")),
        _with("DocumentReference", _data_number),
        _with("Encounter", _set("period", "2024")),
    ],
    ids=["condition-code-string", "content-string", "attachment-data-number", "period-string"],
)
def test_qc_evaluate_bundle_of_the_wrong_shape_is_a_4xx(fhir: httpx.Client, bundle: dict[str, Any]) -> None:
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "bundle", "resource": bundle}]}
    body = _outcome(fhir.post("/$qc-evaluate", json=parameters), {400, 422})
    assert any("expression" in issue for issue in body["issue"])


@pytest.mark.parametrize(
    "parameter",
    [
        {"name": "periodStart", "valueDate": 2024},
        {"name": "periodStart", "valueString": {"year": 2024}},
        {"name": "measure", "valueString": 7},
        {"name": "subject", "valueReference": "Patient/1"},
        {"name": "subject", "valueReference": {"reference": 3}},
        {"name": "reportType", "valueCode": ["population"]},
    ],
)
def test_evaluate_measure_parameters_of_the_wrong_type_are_a_400(
    fhir: httpx.Client, parameter: dict[str, Any]
) -> None:
    parameters = {"resourceType": "Parameters", "parameter": [parameter]}
    _outcome(fhir.post("/Measure/$evaluate-measure", json=parameters), 400)


# ---- the connection survives errors -----------------------------------------------------------------


def test_connection_is_kept_after_errors(server: str) -> None:
    transport = httpx.HTTPTransport(retries=0)
    with httpx.Client(base_url=f"{server}/fhir", transport=transport, timeout=30) as client:
        ports = set()
        for path in ("/Patient?_offset=99999999999999999999", "/Patient/_history/x", "/Nope", "/metadata"):
            response = client.get(path, extensions={"trace": lambda name, info: None})
            assert response.status_code < 500
            stream = response.extensions.get("network_stream")
            if stream is not None:
                ports.add(stream.get_extra_info("client_addr"))
        assert len(ports) <= 1
