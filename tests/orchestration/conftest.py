"""Fixtures of the orchestration tests: a MedQC process's services on a fresh SQLite file, an AF record."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from medqc.services import Services, build_services
from medqc.settings import Settings

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
                {"attachment": {"contentType": "text/plain", "data": base64.b64encode(note.encode()).decode()}}
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
