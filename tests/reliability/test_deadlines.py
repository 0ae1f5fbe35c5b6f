"""Whole-call deadlines: a server trickling one byte per second cannot hold a model call, an upstream
read or a CDS ``fhirServer`` fetch past its deadline; an endless upstream search stops at its page limit."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from agents.llm.gateway import LLMGateway
from agents.llm.types import ChatRequest, LLMUnavailableError
from fhir_ops.data_access.prefetch import FhirServerClient
from fhir_ops.data_access.upstream import UpstreamSource
from fhir_ops.errors import PreconditionFailed, UpstreamUnavailable
from tests.reliability.trickle import Trickle


@pytest.fixture(scope="module")
def trickle() -> Iterator[Trickle]:
    with Trickle().running() as server:
        yield server


async def test_trickling_model_is_cut_at_the_deadline(trickle: Trickle) -> None:
    gateway = LLMGateway(trickle.base, "m", timeout_s=2.0, max_retries=2)
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError):
        await gateway.complete(ChatRequest(messages=({"role": "user", "content": "hi"},), prompt_version="t"))
    await gateway.aclose()
    assert time.monotonic() - started < 4.0


async def test_trickling_upstream_is_cut_at_the_deadline(trickle: Trickle) -> None:
    source = UpstreamSource(f"{trickle.base}/fhir", timeout_s=1.0, deadline_s=2.0, attempts=4)
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable):
        await source.read("Encounter", "e1")
    with pytest.raises(UpstreamUnavailable):
        await source.search_all("Condition", [("encounter", "Encounter/e1")])
    assert time.monotonic() - started < 6.0


async def test_endless_upstream_paging_stops_at_the_page_limit() -> None:
    with Trickle("endless-pages").running() as server:
        source = UpstreamSource(f"{server.base}/fhir", max_pages=5)
        with pytest.raises(UpstreamUnavailable, match="more than 5 pages"):
            await source.search_all("Condition", [("patient", "p")])
        assert server.requests == 5


async def test_trickling_fhir_server_is_cut_at_the_timeout(trickle: Trickle) -> None:
    async with httpx.AsyncClient() as http:
        client = FhirServerClient(f"{trickle.base}/fhir", access_token=None, http=http, timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(PreconditionFailed):
            await client.fetch("Patient/p")
        assert time.monotonic() - started < 3.0


def test_hook_with_a_trickling_fhir_server_answers_412_in_time(
    trickle: Trickle, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.conftest import make_settings
    from tests.reliability.hooks import HOOK_PATH, discharge_call
    from tests.support.live import live_server

    call = discharge_call()
    call.pop("prefetch")
    call["fhirServer"] = f"{trickle.base}/fhir"
    with live_server(make_settings("sqlite", tmp_path_factory.mktemp("hook"))) as base:
        started = time.monotonic()
        response = httpx.post(f"{base}{HOOK_PATH}", json=call, timeout=120)
        elapsed = time.monotonic() - started
    assert response.status_code == 412, response.text[:300]
    assert elapsed < 15.0
