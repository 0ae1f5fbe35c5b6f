"""A live MedQC with the demo token, three judged AF stays and a drafted discharge summary, shared by the
workstation tests (browser and HTTP), with every log record it writes captured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.live import live_server
from tests.workstation.data import AF_ENCOUNTER, bundles, encounter_ids

TOKEN = "workstation-demo-token"


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        plain = logging.LogRecord("", 0, "", 0, "", (), None).__dict__
        extras = {k: v for k, v in record.__dict__.items() if k not in plain}
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.lines.append(f"{record.getMessage()} {extras} {exc}")


@dataclass(frozen=True, slots=True)
class Site:
    base: str
    fhir: httpx.Client
    database: Path
    logs: LogCapture = field(default_factory=LogCapture)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("workstation")
    capture = LogCapture()
    with live_server(make_settings("sqlite", tmp, fhir_access_token=TOKEN, log_level="DEBUG")) as base:
        logging.getLogger().addHandler(capture)
        fhir = httpx.Client(
            base_url=f"{base}/fhir", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300
        )
        try:
            for bundle in bundles():
                response = fhir.post("", json=bundle)
                assert response.status_code == 200, response.text[:300]
            for encounter in encounter_ids():
                response = fhir.post(
                    f"/Encounter/{encounter}/$qc-evaluate", json={"resourceType": "Parameters"}
                )
                assert response.status_code == 200, response.text[:300]
            response = fhir.post(
                f"/Encounter/{AF_ENCOUNTER}/$draft-discharge-summary", json={"resourceType": "Parameters"}
            )
            assert response.status_code == 200, response.text[:300]
            yield Site(base=base, fhir=fhir, database=tmp / "medqc.sqlite", logs=capture)
        finally:
            logging.getLogger().removeHandler(capture)
            fhir.close()
