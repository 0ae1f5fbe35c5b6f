from __future__ import annotations

import re

import pytest

from agents.llm.prompts import CURRENT, template


@pytest.mark.parametrize("task", sorted(CURRENT))
def test_versions_name_task_number_and_content_hash(task: str) -> None:
    t = template(task)
    assert re.fullmatch(rf"{task}/v\d+\+[0-9a-f]{{8}}", t.version)


def test_fact_prompt_renders_in_chinese_with_two_messages() -> None:
    p = template("fact_verification").render(
        indicator="房颤：血栓栓塞风险评估率",
        question="是否进行了CHA2DS2-VASc评分",
        answer_type="是/否",
        evidence_hint="评分记录",
        knowledge=[{"title": "CHA2DS2-VASc评分", "text": "……"}],
        sentences=[{"text": "CHA2DS2-VASc评分3分。"}],
        value_hint="true 或 false",
    )
    assert [m["role"] for m in p.messages] == ["system", "user"]
    assert "逐字" in p.messages[0]["content"]
    assert "[1] CHA2DS2-VASc评分3分。" in p.messages[1]["content"]


def test_unknown_task() -> None:
    with pytest.raises(KeyError):
        template("nope")
