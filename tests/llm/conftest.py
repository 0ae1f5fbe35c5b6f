from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.verifiers.context import VerificationContext
from medqc.demo import free_port
from tests.llm.server import INSTALL_HINT, LlamaServer, find_binary, find_smollm2
from tests.support.notes import note_record

NOTE = (
    "患者男，68岁，因“突发左侧肢体无力3小时”入院。既往高血压病史10年。\n"
    "入院NIHSS评分5分。洼田饮水试验2级，吞咽功能筛查已完成。\n"
    "头颅CT未见出血，予阿替普酶静脉溶栓治疗。出院带药：阿司匹林100mg qd。"
)


def note_context(text: str = NOTE) -> VerificationContext:
    return VerificationContext(record=note_record(text))


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
