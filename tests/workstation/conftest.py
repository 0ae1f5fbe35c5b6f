"""A live MedQC with the demo token, three judged AF stays and a drafted discharge summary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.live import live_server
from tests.workstation.data import AF_ENCOUNTER, bundles, encounter_ids

TOKEN = "workstation-demo-token"


@dataclass(frozen=True, slots=True)
class Site:
    base: str
    fhir: httpx.Client
    database: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("workstation")
    with live_server(make_settings("sqlite", tmp, fhir_access_token=TOKEN)) as base:
        fhir = httpx.Client(
            base_url=f"{base}/fhir", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300
        )
        for bundle in bundles():
            response = fhir.post("", json=bundle)
            assert response.status_code == 200, response.text[:300]
        for encounter in encounter_ids():
            response = fhir.post(f"/Encounter/{encounter}/$qc-evaluate", json={"resourceType": "Parameters"})
            assert response.status_code == 200, response.text[:300]
        response = fhir.post(
            f"/Encounter/{AF_ENCOUNTER}/$draft-discharge-summary", json={"resourceType": "Parameters"}
        )
        assert response.status_code == 200, response.text[:300]
        yield Site(base=base, fhir=fhir, database=tmp / "medqc.sqlite")
        fhir.close()
