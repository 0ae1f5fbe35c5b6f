"""The database stops mid-run (an immediate shutdown of a PostgreSQL cluster of the test's own) and comes
back: no 500, every acknowledged write present, no transaction half-applied, and the QC judgements of a
hook fired during the outage stored after recovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from medqc.settings import Settings
from tests.reliability.conftest import Scale
from tests.reliability.hooks import ENCOUNTER, HOOK_PATH, demo_bundle, discharge_call
from tests.reliability.pg_cluster import PgCluster, _pg_bin
from tests.support.live import live_server

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(_pg_bin() is None, reason="PostgreSQL server binaries are not installed"),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    pg = PgCluster()
    try:
        yield pg
    finally:
        pg.destroy()


def _tx(marker: str) -> dict[str, Any]:
    """Two resources written together: after any failure both or neither exist."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": f"{marker}-{part}", "name": [{"text": marker}]},
                "request": {"method": "PUT", "url": f"Patient/{marker}-{part}"},
            }
            for part in ("a", "b")
        ],
    }


class Writers:
    """Threads writing transactions until stopped; they remember what the server acknowledged."""

    def __init__(self, base: str, clients: int) -> None:
        self.base = base
        self.acknowledged: list[str] = []
        self.refused: list[str] = []
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in range(clients)]

    def _run(self, client: int) -> None:
        with httpx.Client(base_url=f"{self.base}/fhir", timeout=60) as http:
            n = 0
            while not self._stop.is_set():
                marker = f"out-{client}-{n}"
                n += 1
                try:
                    response = http.post("", json=_tx(marker))
                except httpx.TransportError:
                    self.refused.append(marker)
                    continue
                self.statuses.append(response.status_code)
                (self.acknowledged if response.status_code == 200 else self.refused).append(marker)
                time.sleep(0.01)

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)


def _stored_reports(http: httpx.Client) -> int:
    found = http.get("/fhir/MeasureReport", params={"evaluated-resource": f"Encounter/{ENCOUNTER}"})
    assert found.status_code == 200, found.text
    return int(found.json()["total"])


def test_database_outage_loses_nothing_acknowledged(cluster: PgCluster, scale: Scale) -> None:
    settings = Settings(database_url=cluster.url, log_level="WARNING", cds_auth="off")  # type: ignore[call-arg]
    with live_server(settings) as base, httpx.Client(base_url=base, timeout=120) as http:
        assert http.post("/fhir", json=demo_bundle()).status_code == 200
        with Writers(base, clients=max(2, scale.clients // 2)) as writers:
            time.sleep(1.0)
            cluster.stop()
            during = http.post(HOOK_PATH, json=discharge_call())  # judged; its reports cannot be stored yet
            time.sleep(1.0 + scale.rounds * 0.2)
            outage_statuses = list(writers.statuses)
            cluster.start()
            time.sleep(2.0)
        assert during.status_code in {200, 503}, during.text
        assert 500 not in writers.statuses, sorted(set(writers.statuses))
        assert set(outage_statuses) & {503, 409}, "the outage was not observed"
        assert writers.acknowledged, "nothing was written"
        for marker in writers.acknowledged:
            for part in ("a", "b"):
                kept = http.get(f"/fhir/Patient/{marker}-{part}")
                assert kept.status_code == 200, (marker, kept.status_code)
                assert kept.json()["name"][0]["text"] == marker
        for marker in writers.refused:  # all or nothing
            present = {http.get(f"/fhir/Patient/{marker}-{part}").status_code for part in ("a", "b")}
            assert len(present) == 1, (marker, present)
        deadline = time.monotonic() + 60
        while _stored_reports(http) == 0 and time.monotonic() < deadline:
            time.sleep(1.0)
        assert _stored_reports(http) > 0, "the judgements of the hook fired during the outage were lost"
