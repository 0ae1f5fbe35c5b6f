from __future__ import annotations

import pytest

from agents.llm.wiring import LanguageModel
from agents.methods import method_names, policy_for
from agents.verifiers.policy import VerificationPolicy
from medqc.settings import Settings


def test_methods_registered_and_hybrid_without_model() -> None:
    model = LanguageModel(Settings(llm_base_url=None))
    model.register_methods()
    assert {"llm", "hybrid", "lexical"} <= set(method_names())
    hybrid = policy_for("hybrid")
    assert isinstance(hybrid, VerificationPolicy)
    assert hybrid.name == "hybrid"
    assert [v.name for v in hybrid.verifiers][-1] == "llm"
    assert model.gateway is None


def test_the_injected_settings_build_the_gateway() -> None:
    """Settings passed in (not the environment) decide the model: a configured URL gives a gateway."""
    model = LanguageModel(Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m"))
    assert model.gateway is not None
    assert model.verifier().client is model.gateway


@pytest.mark.parametrize(("scope", "defer"), [("unknown", False), ("unlexiconed", True)])
def test_hybrid_scope(scope: str, defer: bool) -> None:
    model = LanguageModel(Settings(llm_hybrid_scope=scope))  # type: ignore[arg-type]
    llm = model.hybrid_policy().verifiers[-1]
    assert llm.defer_to_lexicon is defer
