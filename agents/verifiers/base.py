"""The fact-verifier seam: (fact, encounter context) → verdict with evidence.

Every verifier (structured, lexical, language model) returns a :class:`FactVerdict`. ``value`` None means
*unknown*. Evidence is either a resource reference or a verbatim quote of a note with character offsets
into that note's text; a quote that is not found verbatim must never be returned (evidence or nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

FactValue = bool | float | str | None


Method = Literal["structured", "lexical", "llm", "none"]


class Evidence(BaseModel):
    """A resource reference, or a verbatim quote of the note ``reference`` with offsets ``[start, end)``."""

    reference: str | None = Field(default=None, description="A resource (e.g. Observation/1) or the note")
    quote: str | None = Field(default=None, description="Verbatim span of the note's text")
    start: int | None = None
    end: int | None = None


class FactVerdict(BaseModel):
    fact_id: str
    value: FactValue = None
    evidence: list[Evidence] = Field(default_factory=list)
    method: Method = "none"
    confidence: float = 0.0
    detail: str | None = None
    absent: bool = Field(
        default=False,
        description="the value is the fact's absent-policy default: nothing in the notes mentions it "
        "(not documented), as opposed to a quoted statement or a quoted negation",
    )
    provenance: dict[str, str] = Field(
        default_factory=dict, description="what produced a model verdict: model, prompt version, kb version"
    )

    @property
    def known(self) -> bool:
        return self.value is not None


class FactVerifier(Protocol):
    """One way of answering a fact; implementations: structured, lexical, and (agents/llm) the model.

    ``ctx`` is an :class:`agents.verifiers.context.VerificationContext`; a verifier must return an
    unknown verdict (``value`` None) rather than guess, and quote only text of the record's notes.
    """

    name: str

    async def verify(self, fact: FactSpec, ctx: VerificationContext) -> FactVerdict: ...


if TYPE_CHECKING:  # imported late: the catalog and the context import this module's models
    from agents.verifiers.context import VerificationContext
    from measures.catalog.schema import FactSpec
