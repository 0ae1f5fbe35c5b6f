from __future__ import annotations

import pytest

from agents.llm import wiring
from agents.methods import method_names, policy_for
from agents.verifiers.policy import VerificationPolicy
from medqc.settings import Settings, get_settings


def test_methods_registered_and_hybrid_without_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDQC_LLM_BASE_URL", raising=False)
    get_settings.cache_clear()
    wiring.register_llm_methods()
    assert {"llm", "hybrid", "lexical"} <= set(method_names())
    hybrid = policy_for("hybrid")
    assert isinstance(hybrid, VerificationPolicy)
    assert hybrid.name == "hybrid"
    assert [v.name for v in hybrid.verifiers][-1] == "llm"
    assert wiring.shared_gateway() is None


def test_shared_gateway_is_shared_per_configuration() -> None:
    s = Settings(llm_base_url="http://127.0.0.1:9/v1")
    assert wiring.shared_gateway(s) is wiring.shared_gateway(s)
    assert wiring.shared_gateway(
        Settings(llm_base_url="http://127.0.0.1:10/v1")
    ) is not wiring.shared_gateway(s)


@pytest.mark.parametrize(("env", "defer"), [(None, True), ("unknown", False), ("unlexiconed", True)])
def test_hybrid_scope(monkeypatch: pytest.MonkeyPatch, env: str | None, defer: bool) -> None:
    if env is None:
        monkeypatch.delenv("MEDQC_LLM_HYBRID_SCOPE", raising=False)
    else:
        monkeypatch.setenv("MEDQC_LLM_HYBRID_SCOPE", env)
    get_settings.cache_clear()
    try:
        llm = wiring.hybrid_policy().verifiers[-1]
        assert llm.defer_to_lexicon is defer
    finally:
        get_settings.cache_clear()
