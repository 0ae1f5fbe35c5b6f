from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.verifiers.context import VerificationContext
from fhir_ops.data_access.record import record_from_resources
from tests.llm.server import INSTALL_HINT, LlamaServer, find_binary, find_smollm2, free_port

NOTE = (
    "患者男，68岁，因“突发左侧肢体无力3小时”入院。既往高血压病史10年。\n"
    "入院NIHSS评分5分。洼田饮水试验2级，吞咽功能筛查已完成。\n"
    "头颅CT未见出血，予阿替普酶静脉溶栓治疗。出院带药：阿司匹林100mg qd。"
)


def note_context(text: str = NOTE) -> VerificationContext:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    resources = [
        {"resourceType": "Patient", "id": "p1"},
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        },
        {
            "resourceType": "DocumentReference",
            "id": "d1",
            "status": "current",
            "content": [{"attachment": {"contentType": "text/plain", "data": data}}],
        },
    ]
    return VerificationContext(record=record_from_resources(resources))


@pytest.fixture
def ctx() -> VerificationContext:
    return note_context()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """SmolLM2 behind a real llama-server on a free loopback port (skipped if not installed)."""
    binary, model = find_binary(), find_smollm2()
    if binary is None or model is None:
        pytest.skip(f"llama-server or SmolLM2 weights not installed: run {INSTALL_HINT}")
    log: Path = tmp_path_factory.mktemp("llama") / "server.log"
    server = LlamaServer(binary, model, free_port(), log)
    server.start()
    yield server
    server.stop()
