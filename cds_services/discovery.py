"""The services MedQC offers (one registry: discovery and routing both read it)."""

from __future__ import annotations

from cds_services.models import DiscoveryResponse
from cds_services.service import CdsService
from cds_services.services import discharge_qc, patient_quality

SERVICES: dict[str, CdsService] = {s.id: s for s in (discharge_qc.SERVICE, patient_quality.SERVICE)}


def discovery_document() -> DiscoveryResponse:
    return DiscoveryResponse(services=[s.descriptor() for s in SERVICES.values()])
