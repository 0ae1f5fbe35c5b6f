"""Run the lexical verifier and the mention finder on an inline lexicon entry (engine option tests)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.lexical import verifier as lexical
from agents.lexical.document import analyse
from agents.lexical.lexicon import LexiconEntry
from agents.lexical.mentions import find_mentions
from agents.lexical.verifier import LexicalVerifier
from agents.verifiers.base import FactVerdict
from agents.verifiers.context import VerificationContext
from measures.catalog.schema import FactSpec

NUMBER_FACT = FactSpec(id="n", question="q", type="number", unit="枚", evidence="e", lexicon="x#n")
BOOL_FACT = FactSpec(id="b", question="q", evidence="e", lexicon="x#b")


async def verify(
    monkeypatch: pytest.MonkeyPatch, make_record: Any, entry: dict[str, Any], text: str, fact: FactSpec
) -> FactVerdict:
    """The verdict on ``text`` of ``fact`` whose lexicon entry is ``entry`` (checked first)."""
    parsed = LexiconEntry.model_validate(entry)
    assert parsed.check() == []
    monkeypatch.setattr(lexical, "resolve", lambda ref: parsed)
    return await LexicalVerifier().verify(fact, VerificationContext(record=make_record(text)))


def polarities(entry: dict[str, Any] | LexiconEntry, text: str) -> list[tuple[str, str]]:
    """Each mention of ``entry`` in ``text`` with its polarity."""
    parsed = entry if isinstance(entry, LexiconEntry) else LexiconEntry.model_validate(entry)
    return [(text[m.start : m.end], m.polarity) for m in find_mentions(parsed, analyse(text))]
