"""A 5 MB note is refused in well under 2 s (a 400 naming the limit), and the service keeps answering
``/healthz`` meanwhile: verification never sees it (MEDQC_NOTE_MAX_BYTES, default 2 MB)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.live import live_server

CLAUSE = "患者诉心悸，予美托洛尔口服，心室率控制可。"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(make_settings("sqlite", tmp_path_factory.mktemp("large-note"))) as url:
        yield url


def _bundle(text: str) -> dict[str, object]:
    data = base64.b64encode(text.encode()).decode()
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "big-p"}},
            {"resource": {"resourceType": "Encounter", "id": "big-e", "status": "finished"}},
            {
                "resource": {
                    "resourceType": "DocumentReference",
                    "id": "big-d",
                    "status": "current",
                    "context": {"encounter": [{"reference": "Encounter/big-e"}]},
                    "content": [{"attachment": {"contentType": "text/plain", "data": data}}],
                }
            },
        ],
    }


def test_five_megabyte_note_is_refused_fast_while_healthz_answers(base: str) -> None:
    text = "诊断：心房颤动。" + CLAUSE * (5 * 1024 * 1024 // len(CLAUSE.encode()))
    health: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                started = time.perf_counter()
                assert client.get(f"{base}/healthz").status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.05)

    watcher = threading.Thread(target=probe)
    watcher.start()
    try:
        started = time.perf_counter()
        response = httpx.post(
            f"{base}/fhir/$qc-evaluate",
            json={"resourceType": "Parameters", "parameter": [{"name": "bundle", "resource": _bundle(text)}]},
            timeout=30,
        )
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        watcher.join()
    assert response.status_code == 400, response.text[:300]
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "MEDQC_NOTE_MAX_BYTES" in str(outcome) or "bytes" in str(outcome)
    assert elapsed < 2.0
    assert health
    assert max(health) < 2.0
