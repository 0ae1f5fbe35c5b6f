"""The runs MedQC executes, each a fixed graph (DAG) of typed steps: the one definition of every graph.

Controlled orchestration over free autonomy: a run never decides what to do next; it executes the steps
below in their declared order (a step only reads the outputs of the steps it ``needs``). Every step is
recorded in the audit (input digest, output, duration, status, model, prompt, knowledge-base and code
versions) under the run's trace id, and can be replayed (``medqc replay TRACE_ID``).

Placement says where a step runs:

* ``inline``: in the caller, on its latency budget (the hook's fast path, the extractive documentation
  operations);
* ``durable``: a Temporal activity of the run's workflow (retries, timeouts, idempotency key
  ``<run id>/<step>``), started before the caller gets its answer so nothing is lost on a restart; without
  a reachable Temporal server the same step runs in-process from the database outbox.

Effect says what replay may do with it: ``pure`` steps are re-run and their outputs compared; ``reads``
(depends on stored state) and ``writes`` (changes the store) steps are not re-run.

A step runs only when its condition holds for the run: ``model`` (a language model is configured),
``stored`` (the run keeps its results: an encounter of the store, not a posted Bundle), ``deferred`` (the
context step left work for later — a stay naming more diseases than the hook judges on its budget, or
with more notes than it reads on it; decided after the inline steps, which never depend on it, so a short
stay schedules no empty work).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Placement = Literal["inline", "durable"]
Effect = Literal["pure", "reads", "writes"]
Condition = Literal["model", "stored", "deferred"]


@dataclass(frozen=True, slots=True)
class Step:
    """One node of a run's graph; ``does`` names its implementation (agents/orchestration/steps.py)."""

    name: str
    does: str
    output: str
    needs: tuple[str, ...] = ()
    placement: Placement = "inline"
    effect: Effect = "pure"
    when: tuple[Condition, ...] = ()
    args: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 60.0
    attempts: int = 5

    @property
    def durable(self) -> bool:
        return self.placement == "durable"


@dataclass(frozen=True, slots=True)
class Run:
    """A kind of run: its steps in a topological order (checked at import)."""

    kind: str
    title: str
    steps: tuple[Step, ...]
    #: the caller waits for the durable steps (an operation's answer) rather than only starting them
    waits: bool = False

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def selected(self, conditions: Iterable[Condition]) -> tuple[Step, ...]:
        """The steps whose conditions hold (a step whose input is not selected is not selected)."""
        held = set(conditions)
        chosen: list[Step] = []
        for step in self.steps:
            names = {s.name for s in chosen}
            if set(step.when) <= held and all(n in names for n in step.needs):
                chosen.append(step)
        return tuple(chosen)


def layers(steps: Iterable[Step]) -> list[list[Step]]:
    """The steps grouped so that each group only needs earlier groups (run a group's steps together).

    >>> a, b, c = Step("a", "x", "o"), Step("b", "x", "o", ("a",)), Step("c", "x", "o", ("a",))
    >>> [[s.name for s in group] for group in layers([a, b, c])]
    [['a'], ['b', 'c']]
    """
    done: set[str] = set()
    pending = list(steps)
    names = {s.name for s in pending}
    out: list[list[Step]] = []
    while pending:
        ready = [s for s in pending if all(n in done or n not in names for n in s.needs)]
        if not ready:
            raise ValueError("the steps have a cycle")
        out.append(ready)
        done |= {s.name for s in ready}
        pending = [s for s in pending if s.name not in done]
    return out


# ---- the shared beginning of every encounter run ----------------------------------------------------
CONTEXT = Step(
    "context",
    "context",
    "the record's digest and the indicators whose denominator the encounter may belong to",
)


def _facts(name: str, policy: str, **kw: object) -> Step:
    kw.setdefault("args", {"policy": policy})
    return Step(
        name,
        "verify-facts",
        "verified facts per indicator: verdicts with evidence, fact Observations, evidence statistics",
        needs=("context",),
        **kw,  # type: ignore[arg-type]
    )


def _rules(name: str, facts: str, **kw: object) -> Step:
    return Step(
        name,
        "judge",
        "populations per indicator (initial population, denominator, numerator, needs review) from the CQL",
        needs=(facts,),
        **kw,  # type: ignore[arg-type]
    )


def _reports(name: str, facts: str, rules: str, validate: str, **kw: object) -> Step:
    kw.setdefault("args", {"validate": validate})
    return Step(
        name,
        "report",
        "a Bundle of individual MeasureReports with the fact Observations contained",
        needs=(facts, rules),
        **kw,  # type: ignore[arg-type]
    )


RUNS: dict[str, Run] = {
    run.kind: run
    for run in (
        Run(
            "encounter-discharge",
            "CDS Hooks encounter-discharge: the first diseases judged on the hook's budget (the rest said to "
            "be pending), then storing, the deferred indicators and refining in the background",
            (
                CONTEXT,
                _facts("facts", "fast", args={"policy": "fast", "scope": "now"}),
                _rules("rules", "facts"),
                _reports("reports", "facts", "rules", "no", args={"validate": "no", "pending": "yes"}),
                Step(
                    "answer",
                    "prefer-refined",
                    "the reports the cards show: a stored report of this very record replaces a pending "
                    "one, a stored model-refined one wins",
                    needs=("reports",),
                    effect="reads",
                    when=("stored",),
                ),
                Step(
                    "store",
                    "store",
                    "fact Observations and MeasureReports kept (never over a refined one of the same record)",
                    needs=("facts", "reports"),
                    placement="durable",
                    effect="writes",
                    when=("stored",),
                    args={"policy": "fast", "partial": "skip"},
                ),
                _facts(
                    "deferred-facts",
                    "fast",
                    args={"policy": "fast", "scope": "deferred"},
                    placement="durable",
                    when=("deferred",),
                    timeout_s=600.0,
                ),
                _rules("deferred-rules", "deferred-facts", placement="durable", when=("deferred",)),
                _reports(
                    "deferred-reports",
                    "deferred-facts",
                    "deferred-rules",
                    "yes",
                    placement="durable",
                    when=("deferred",),
                ),
                Step(
                    "store-deferred",
                    "store",
                    "the deferred indicators' Observations and reports kept",
                    needs=("store", "deferred-facts", "deferred-reports"),
                    placement="durable",
                    effect="writes",
                    when=("stored",),
                    args={"policy": "fast"},
                ),
                _facts("refine-facts", "full", placement="durable", when=("model",), timeout_s=600.0),
                _rules("refine-rules", "refine-facts", placement="durable", when=("model",)),
                _reports(
                    "refine-reports",
                    "refine-facts",
                    "refine-rules",
                    "yes",
                    placement="durable",
                    when=("model",),
                ),
                Step(
                    "store-refined",
                    "store",
                    "the refined Observations and reports kept, superseding the fast ones",
                    needs=("store", "refine-facts", "refine-reports"),
                    placement="durable",
                    effect="writes",
                    when=("model", "stored"),
                    args={"policy": "full"},
                ),
            ),
        ),
        Run(
            "qc-evaluate",
            "$qc-evaluate: facts → rules → reports, kept at instance level; the caller waits",
            (
                CONTEXT,  # inline: an oversized record is the caller's 4xx before any workflow starts
                _facts("facts", "configured", placement="durable", timeout_s=600.0),
                _rules("rules", "facts", placement="durable"),
                _reports("reports", "facts", "rules", "yes", placement="durable"),
                Step(
                    "store",
                    "store",
                    "fact Observations and MeasureReports kept",
                    needs=("facts", "reports"),
                    placement="durable",
                    effect="writes",
                    when=("stored",),
                    args={"policy": "configured", "overwrite": "yes"},
                ),
            ),
            waits=True,
        ),
        Run(
            "population-rating",
            "$evaluate-measure on a catalog indicator: the period's encounters judged before the rating",
            (
                Step(
                    "judge-period",
                    "judge-period",
                    "counts of encounters in the period, judged now, already current, failed",
                    placement="durable",
                    effect="writes",
                    timeout_s=3600.0,
                ),
            ),
            waits=True,
        ),
        Run(
            "cdi-review",
            "$cdi-review: documentation gaps, most severe first",
            (
                CONTEXT,
                Step(
                    "gaps", "gaps", "DetectedIssues of the CDI rules fired, with evidence", needs=("context",)
                ),
            ),
        ),
        Run(
            "icd-suggest",
            "$icd-suggest: ICD-10 codes for the encounter",
            (
                CONTEXT,
                Step("codes", "suggest-codes", "ranked ICD-10 suggestions as Parameters", needs=("context",)),
            ),
        ),
    )
}


def _check(run: Run) -> None:
    seen: set[str] = set()
    for step in run.steps:
        missing = [n for n in step.needs if n not in seen]
        if missing or step.name in seen:
            raise ValueError(f"{run.kind}/{step.name}: needs {missing} declared later, or a duplicate name")
        seen.add(step.name)


for _run in RUNS.values():
    _check(_run)
