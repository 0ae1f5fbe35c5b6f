"""Scale of the reliability suite: short under ``make test``, longer under ``make soak`` (MEDQC_SOAK=1)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class Scale:
    clients: int
    keys: int
    rounds: int


SHORT = Scale(clients=8, keys=4, rounds=3)
SOAK = Scale(clients=16, keys=10, rounds=20)


@pytest.fixture(scope="session")
def scale() -> Scale:
    return SOAK if os.environ.get("MEDQC_SOAK") == "1" else SHORT
