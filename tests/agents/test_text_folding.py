"""Notes in traditional characters or full-width letters match simplified lexicons; quotes stay verbatim."""

from __future__ import annotations

from agents.methods import policy_for
from agents.qc_evaluate import RuleOracle, qc_evaluate
from measures.catalog import spec_for
from tests.support.notes import evidence_quotes, note_record, population_counts

NOTE = "診斷：持續性心房顫動。入院後完成ＨＡＳ－ＢＬＥＤ評分2分，出血風險中等。"


async def test_traditional_and_full_width_note_is_judged_with_verbatim_quotes() -> None:
    spec = spec_for("af-bleeding-risk")
    assert spec is not None
    bundle = await qc_evaluate(
        note_record(NOTE), measures=[spec], denominator_asserted=True, policy=policy_for("lexical"), judge=RuleOracle()
    )
    report = bundle["entry"][0]["resource"]
    assert population_counts(report)["numerator"] == 1
    quotes = evidence_quotes(report)
    assert quotes
    assert all(q in NOTE for q in quotes)
    assert any("ＨＡＳ－ＢＬＥＤ評分" in q for q in quotes)
