"""JSON schemas of the model's answers, one per fact type, and their parsing into typed values."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.verifiers.base import FactValue

QUOTE_MAX = 80
REASON_MAX = 40


class FactLike(Protocol):
    """What the verifier needs of a fact (``measures.catalog.FactSpec`` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def values(self) -> list[str] | None: ...
    @property
    def evidence(self) -> str: ...


class ModelAnswer(BaseModel):
    """``{evidence_quote, reason, value}``: the generation order puts the quote first (grounding)."""

    model_config = ConfigDict(extra="forbid")

    evidence_quote: str = Field(default="", max_length=QUOTE_MAX * 2)
    reason: str = Field(default="", max_length=REASON_MAX * 2)
    value: Any = None


def _value_schema(fact: FactLike) -> dict[str, Any]:
    if fact.type == "boolean":
        return {"enum": [True, False, None]}
    if fact.type == "number":
        return {"anyOf": [{"type": "number"}, {"type": "null"}]}
    if fact.type == "category":
        return {"enum": [*(fact.values or []), None]}
    return {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}]}  # datetime


def answer_schema(fact: FactLike) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "evidence_quote": {"type": "string", "maxLength": QUOTE_MAX},
            "reason": {"type": "string", "maxLength": REASON_MAX},
            "value": _value_schema(fact),
        },
        "required": ["evidence_quote", "reason", "value"],
        "additionalProperties": False,
    }


def value_hint(fact: FactLike) -> tuple[str, str]:
    """(answer type shown to the model, the JSON value hint) in Chinese."""
    if fact.type == "boolean":
        return "是/否", "true 或 false，无法判断为 null"
    if fact.type == "number":
        unit = f"，单位：{fact.unit}" if fact.unit else ""
        return f"数值{unit}", "数字，病历未记录为 null"
    if fact.type == "category":
        options = "、".join(fact.values or [])
        return f"类别（可选：{options}）", f"可选值之一（{options}），无法判断为 null"
    return "日期时间", "病历中的日期时间原文，未记录为 null"


def parse_answer(fact: FactLike, data: Any) -> tuple[ModelAnswer, FactValue]:
    """The validated answer and its value coerced to the fact's type; raises ValueError otherwise."""
    try:
        answer = ModelAnswer.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"answer does not match the schema: {exc.errors()[0]['msg']}") from exc
    v = answer.value
    if v is None:
        return answer, None
    if fact.type == "boolean":
        if not isinstance(v, bool):
            raise ValueError(f"boolean expected, got {v!r}")
        return answer, v
    if fact.type == "number":
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"number expected, got {v!r}")
        return answer, float(v)
    if fact.type == "category":
        if v not in (fact.values or []):
            raise ValueError(f"{v!r} is not one of {fact.values}")
        return answer, str(v)
    return answer, str(v)
