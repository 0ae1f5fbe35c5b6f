"""Logs carry ids and error classes, never resource bodies or search values: a live-app run that fails
writes, searches and hooks on purpose, with every log record captured, holds no demo patient name, MRN,
birth date or note text."""

from __future__ import annotations

import base64
import copy
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS, make_settings
from tests.reliability.hooks import HOOK_PATH, demo_bundle, demo_resources, discharge_call
from tests.support.live import live_server


def _secrets() -> list[str]:
    resources = demo_resources()
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    found = [patient["name"][0]["text"], patient["identifier"][0]["value"], patient["birthDate"]]
    for doc in (r for r in resources if r["resourceType"] == "DocumentReference"):
        text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
        found += [line.strip() for line in text.splitlines() if len(line.strip()) >= 12][:5]
    return found


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extras = {
            k: v
            for k, v in record.__dict__.items()
            if k not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__
        }
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.lines.append(f"{record.getMessage()} {extras} {exc}")


@pytest.fixture(params=BACKENDS)
def captured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, _Capture]]:
    settings = make_settings(str(request.param), tmp_path_factory.mktemp("logs"), log_level="DEBUG")
    capture = _Capture()
    with live_server(settings) as base:
        logging.getLogger().addHandler(capture)
        try:
            yield base, capture
        finally:
            logging.getLogger().removeHandler(capture)


def test_failing_requests_log_no_patient_data(captured: tuple[str, _Capture]) -> None:
    base, capture = captured
    secrets = _secrets()
    patient: dict[str, Any] = next(r for r in demo_resources() if r["resourceType"] == "Patient")
    with httpx.Client(base_url=base, timeout=120) as http:
        assert http.post("/fhir", json=demo_bundle()).status_code == 200
        bad = copy.deepcopy(patient)
        bad["gender"] = 7
        assert http.put(f"/fhir/Patient/{patient['id']}", json=bad).status_code == 422
        nul = {**patient, "name": [{"text": patient["name"][0]["text"] + "\x00"}]}
        assert http.put(f"/fhir/Patient/{patient['id']}", json=nul).status_code == 400
        twice = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": patient, "request": {"method": "PUT", "url": f"Patient/{patient['id']}"}},
                {"request": {"method": "DELETE", "url": f"Patient/{patient['id']}"}},
            ],
        }
        assert http.post("/fhir", json=twice).status_code == 400
        assert (
            http.get(
                "/fhir/Patient",
                params={"name": patient["name"][0]["text"], "birthdate": "x" + patient["birthDate"]},
            ).status_code
            == 400
        )
        assert (
            http.get(
                "/fhir/Patient",
                params={"identifier": f"urn:medqc:demo:mrn|{patient['identifier'][0]['value']}"},
            ).status_code
            == 200
        )
        call = discharge_call()
        assert http.post(HOOK_PATH, json=call).status_code == 200
        broken = discharge_call()
        broken["prefetch"]["patient"] = {**patient, "birthDate": 19560412}
        assert http.post(HOOK_PATH, json=broken).status_code in {400, 412, 422}
    assert capture.lines, "no log records were captured"
    leaks = [(s, line[:200]) for line in capture.lines for s in secrets if s in line]
    assert not leaks
