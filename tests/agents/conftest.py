from __future__ import annotations

from typing import Any

import pytest

from fhir_ops.data_access.record import EncounterRecord
from tests.support.notes import note_record


@pytest.fixture
def make_record() -> Any:
    def make(text: str, *extra: dict[str, Any]) -> EncounterRecord:
        return note_record(text, *extra)

    return make
