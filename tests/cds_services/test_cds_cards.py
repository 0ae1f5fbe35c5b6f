"""Card building rules."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.task import Task

from cds_services.cards import CardContext, build_cards, detail_of, md_escape, truncate
from cds_services.findings import EvidenceItem, FactFinding, IndicatorFinding

CTX = CardContext(
    base_url="https://medqc.example/", patient_id="p1", encounter_id="e1", user_id="Practitioner/d"
)


def _finding(
    verdict: str, *, core: bool = False, title: str = "指标", facts: tuple[FactFinding, ...] = ()
) -> IndicatorFinding:
    return IndicatorFinding(key="K-1", title=title, verdict=verdict, core=core, facts=facts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdict", "core", "indicator"),
    [
        ("not-met", True, "critical"),
        ("not-met", False, "warning"),
        ("needs-review", True, "info"),
        ("needs-review", False, "info"),
    ],
)
def test_indicator_levels(verdict: str, core: bool, indicator: str) -> None:
    [(card, _)] = build_cards([_finding(verdict, core=core)], CTX)
    assert card.indicator == indicator


def test_met_gives_no_card_and_order_is_by_severity() -> None:
    cards = build_cards([_finding("needs-review"), _finding("met"), _finding("not-met", core=True)], CTX)
    assert [c.indicator for c, _ in cards] == ["critical", "info"]


def test_summary_is_short() -> None:
    [(card, _)] = build_cards([_finding("not-met", title="很长的指标名称" * 40)], CTX)
    assert len(card.summary) < 140
    assert card.summary.endswith("…")


def test_suggestions_are_tasks_for_unmet_facts() -> None:
    facts = (
        FactFinding(fact_id="a", question="诊断", value=True),
        FactFinding(fact_id="b", question="评分", value=False),
        FactFinding(fact_id="c", question="告知", value=None),
    )
    [(card, _)] = build_cards([_finding("not-met", facts=facts)], CTX)
    assert card.selectionBehavior == "at-most-one"
    [suggestion] = card.suggestions or []
    actions = suggestion.actions or []
    assert [a.resource["input"][0]["valueString"] for a in actions if a.resource] == ["b", "c"]
    for action in actions:
        assert action.resource is not None
        Task.model_validate(action.resource)
        assert action.resource["encounter"] == {"reference": "Encounter/e1"}
    assert card.links is not None
    assert card.links[0].url == "https://medqc.example/review/Encounter/e1"


def test_no_facts_no_suggestions() -> None:
    [(card, _)] = build_cards([_finding("not-met")], CTX)
    assert card.suggestions is None
    assert card.selectionBehavior is None
    assert card.overrideReasons


def test_detail_quotes_are_escaped() -> None:
    fact = FactFinding(
        fact_id="x",
        question="评分",
        value=False,
        evidence=(
            EvidenceItem(reference="DocumentReference/1", quote="<script>*未行*</script> [x](http://e)"),
        ),
    )
    detail = detail_of(_finding("not-met", facts=(fact,)))
    assert "<script>" not in detail
    assert "[x](http" not in detail
    assert "DocumentReference/1" in detail
    assert "❌ not met" in detail


def test_helpers() -> None:
    assert truncate("a  b", 10) == "a b"
    assert md_escape("a_b") == "a\\_b"
