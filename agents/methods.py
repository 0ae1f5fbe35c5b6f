"""Named verification methods for evaluation and configuration: name → policy factory.

The LLM issue registers ``llm``, ``hybrid`` and ``zero-shot`` here with :func:`register_method`.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.verifiers.policy import VerificationPolicy, default_policy
from agents.verifiers.structured import StructuredVerifier

PolicyFactory = Callable[[], VerificationPolicy]

_METHODS: dict[str, PolicyFactory] = {
    "lexical": default_policy,
    "structured": lambda: VerificationPolicy([StructuredVerifier()], name="structured"),
}


def register_method(name: str, factory: PolicyFactory) -> None:
    _METHODS[name] = factory


def method_names() -> list[str]:
    return sorted(_METHODS)


def policy_for(name: str) -> VerificationPolicy:
    """The policy of method ``name``; raises KeyError listing the known methods."""
    try:
        return _METHODS[name]()
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(method_names())}") from None
