"""Fixtures of the CDS service tests (the kit itself is in ``cds_testkit``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cds_testkit import CdsHarness, Signer, make_harness, new_signer


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return new_signer(tmp_path)


@pytest.fixture
async def cds(tmp_path: Path, signer: Signer) -> AsyncIterator[CdsHarness]:
    harness, close = await make_harness(tmp_path, signer)
    yield harness
    await close()


@pytest.fixture
async def cds_no_auth(tmp_path: Path, signer: Signer) -> AsyncIterator[CdsHarness]:
    harness, close = await make_harness(tmp_path, signer, settings_overrides={"cds_auth": "off"})
    yield harness
    await close()
