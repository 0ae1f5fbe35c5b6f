"""Fixtures of the orchestration tests: a MedQC process's services on a fresh SQLite file, an AF record."""

from __future__ import annotations

import base64
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from medqc.demo import free_port
from medqc.services import Services, build_services
from medqc.settings import Settings
from medqc.temporal import SQLITE_PRAGMAS, listening, temporal_binary

NOTE = "诊断：持续性心房颤动。入院后HAS-BLED评分2分。"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def af_resources(encounter: str = "e-orch", note: str = NOTE) -> list[dict[str, Any]]:
    return [
        {"resourceType": "Patient", "id": "p-orch"},
        {
            "resourceType": "Encounter",
            "id": encounter,
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": {"reference": "Patient/p-orch"},
            "period": {"start": "2024-03-01", "end": "2024-03-08"},
        },
        {
            "resourceType": "DocumentReference",
            "id": f"{encounter}-note",
            "status": "current",
            "subject": {"reference": "Patient/p-orch"},
            "context": {"encounter": [{"reference": f"Encounter/{encounter}"}]},
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(note.encode()).decode(),
                    }
                }
            ],
        },
    ]


def af_record(encounter: str = "e-orch") -> EncounterRecord:
    return record_from_resources(af_resources(encounter), encounter)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/orch.sqlite"


@pytest.fixture
async def services(db_url: str) -> AsyncIterator[Services]:
    built = await build_services(Settings(database_url=db_url, log_level="WARNING"), seed=False)
    yield built
    await built.close()


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's Temporal server (.ci/temporal.sh: MEDQC_TEST_TEMPORAL_ADDRESS), else a dev server of
    the test session's own on free ports."""
    given = os.environ.get("MEDQC_TEST_TEMPORAL_ADDRESS")
    if given:
        yield given
        return
    port, ui_port = free_port(), free_port()
    folder = tmp_path_factory.mktemp("temporal")
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [
                temporal_binary(),
                *("server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port)),
                *("--db-filename", str(folder / "temporal.sqlite"), "--log-level", "warn", *SQLITE_PRAGMAS),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not listening(port):
            assert process.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "the Temporal dev server did not start"
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
