"""``medqc eval``: accuracy of the $qc-evaluate path on a CMQCIC-style jsonl dataset."""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.llm.wiring import LanguageModel
from agents.methods import method_names, policy_for
from agents.qc_evaluate import RuleOracle, qc_evaluate
from agents.qc_report import CS_POPULATION, EXT_EVIDENCE_CHECK, EXT_NEEDS_REVIEW, EXT_RULE_RESULT
from agents.verifiers.policy import VerificationPolicy
from fhir_ops.data_access.record import record_from_resources
from measures.catalog import spec_for


def row_bundle(row: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """The FHIR resources of one dataset row: Patient, Encounter and the note as a DocumentReference."""
    pid, eid = f"p{index}", f"e{index}"
    data = base64.b64encode(str(row["patient note"]).encode("utf-8")).decode("ascii")
    return [
        {"resourceType": "Patient", "id": pid},
        {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
        },
        {
            "resourceType": "DocumentReference",
            "id": f"d{index}",
            "status": "current",
            "subject": {"reference": f"Patient/{pid}"},
            "context": {"encounter": [{"reference": f"Encounter/{eid}"}]},
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}],
        },
    ]


async def zero_shot_row(row: dict[str, Any], index: int, model: LanguageModel) -> RowResult:
    """The papers' baseline: the whole indicator asked of the model at once (no facts, no rule)."""
    key = str(row["unique_id"])
    label = str(row["label"]).strip().lower() == "yes"
    spec = spec_for(key)
    if spec is None:
        return RowResult(key, label, False, True, False, 0, 0, 0.0)
    record = record_from_resources(row_bundle(row, index))
    t0 = time.perf_counter()
    judgement = await model.zero_shot_judge().judge(spec, record.notes)
    latency = (time.perf_counter() - t0) * 1000
    quoted = int(judgement.value is not None or judgement.hallucinated_quote)
    return RowResult(
        key,
        label,
        judgement.value is True,
        judgement.value is None,
        True,
        quoted,
        int(judgement.hallucinated_quote),
        latency,
    )


@dataclass(slots=True)
class RowResult:
    key: str
    label: bool
    predicted: bool
    unknown: bool
    covered: bool
    quotes_checked: int
    quotes_discarded: int
    latency_ms: float


def _ext(element: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in element.get("extension") or [] if e.get("url") == url), None)


def _read_report(report: dict[str, Any]) -> tuple[bool, bool, int, int]:
    group = report["group"][0]
    counts = {
        p["code"]["coding"][0]["code"]: p["count"]
        for p in group["population"]
        if p["code"]["coding"][0]["system"] == CS_POPULATION
    }
    rule = (_ext(group, EXT_RULE_RESULT) or {}).get("valueCode")
    review = bool((_ext(group, EXT_NEEDS_REVIEW) or {}).get("valueBoolean"))
    check = {
        e["url"]: e["valueInteger"] for e in (_ext(report, EXT_EVIDENCE_CHECK) or {}).get("extension", [])
    }
    del review
    return (
        counts.get("numerator", 0) == 1,
        rule == "unknown",
        check.get("quotesChecked", 0),
        check.get("quotesDiscarded", 0),
    )


async def evaluate_row(row: dict[str, Any], index: int, policy: VerificationPolicy) -> RowResult:
    key = str(row["unique_id"])
    label = str(row["label"]).strip().lower() == "yes"
    spec = spec_for(key)
    t0 = time.perf_counter()
    if spec is None:
        return RowResult(key, label, False, True, False, 0, 0, 0.0)
    record = record_from_resources(row_bundle(row, index))
    bundle = await qc_evaluate(
        record, measures=[spec], denominator_asserted=True, policy=policy, judge=RuleOracle()
    )
    latency = (time.perf_counter() - t0) * 1000
    predicted, unknown, checked, discarded = _read_report(bundle["entry"][0]["resource"])
    return RowResult(key, label, predicted, unknown, True, checked, discarded, latency)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(method: str, results: list[RowResult]) -> dict[str, Any]:
    def acc(rs: list[RowResult]) -> float:
        return round(sum(r.label == r.predicted for r in rs) / len(rs), 4) if rs else 0.0

    by_key: dict[str, list[RowResult]] = defaultdict(list)
    by_disease: dict[str, list[RowResult]] = defaultdict(list)
    for r in results:
        by_key[r.key].append(r)
        by_disease[r.key.split("_", 1)[0]].append(r)
    confusion = Counter(
        f"label_{'yes' if r.label else 'no'}/pred_{'yes' if r.predicted else 'no'}" for r in results
    )
    checked = sum(r.quotes_checked for r in results)
    latencies = [r.latency_ms for r in results if r.covered]
    return {
        "method": method,
        "n": len(results),
        "accuracy": acc(results),
        "covered": sum(r.covered for r in results),
        "accuracy_covered": acc([r for r in results if r.covered]),
        "unknown_rate": round(sum(r.unknown for r in results) / len(results), 4) if results else 0.0,
        "hallucinated_quote_rate": round(sum(r.quotes_discarded for r in results) / checked, 4)
        if checked
        else 0.0,
        "latency_ms": {
            "p50": round(_pct(latencies, 0.5), 2),
            "p95": round(_pct(latencies, 0.95), 2),
            "mean": round(statistics.fmean(latencies), 2) if latencies else 0.0,
        },
        "llm_tokens": {"prompt": 0, "completion": 0},
        "confusion": dict(sorted(confusion.items())),
        "predictions": [r.predicted for r in results],
        "per_disease": {
            k: {"n": len(v), "accuracy": acc(v), "covered": sum(r.covered for r in v)}
            for k, v in sorted(by_disease.items())
        },
        "per_indicator": {
            k: {"n": len(v), "accuracy": acc(v), "covered": all(r.covered for r in v)}
            for k, v in sorted(by_key.items())
        },
    }


async def warm_up(rows: list[dict[str, Any]]) -> None:
    """Load each indicator's spec and compile its lexicons once, so latencies are steady-state."""
    policy = policy_for("lexical")
    for key in dict.fromkeys(str(r["unique_id"]) for r in rows):
        await evaluate_row({"unique_id": key, "patient note": "出院记录。", "label": "No"}, -1, policy)


def llm_tokens(model: LanguageModel) -> dict[str, int]:
    usage = model.gateway.usage if model.gateway is not None else None
    return {"prompt": usage.prompt if usage else 0, "completion": usage.completion if usage else 0}


async def run_eval(rows: list[dict[str, Any]], method: str, model: LanguageModel) -> dict[str, Any]:
    await warm_up(rows)
    if method == "zero-shot":
        results = [await zero_shot_row(row, i, model) for i, row in enumerate(rows)]
        return {**summarise(method, results), "llm_tokens": llm_tokens(model)}
    policy = policy_for(method)
    results = [await evaluate_row(row, i, policy) for i, row in enumerate(rows)]
    return {**summarise(method, results), "llm_tokens": llm_tokens(model)}


def load_rows(dataset: Path, only: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if only is None or str(r["unique_id"]).startswith(only)]


def eval_command(
    dataset: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="CMQCIC jsonl")],
    method: Annotated[str, typer.Option(help="lexical | structured | llm | hybrid | zero-shot")] = "lexical",
    out: Annotated[Path | None, typer.Option(help="write the JSON report here")] = None,
    only: Annotated[str | None, typer.Option(help="only indicators whose key starts with this")] = None,
    every: Annotated[int, typer.Option(min=1, help="every n-th row only (model runs are slow on a CPU)")] = 1,
    errors: Annotated[bool, typer.Option("--errors", help="list the misjudged rows")] = False,
) -> None:
    """Evaluate the $qc-evaluate path (denominatorAsserted) on a labelled dataset."""
    from medqc.settings import get_settings

    model = LanguageModel(get_settings())
    model.register_methods()
    if method not in {*method_names(), "zero-shot"}:
        raise typer.BadParameter(
            f"unknown method {method!r}; known: {', '.join([*method_names(), 'zero-shot'])}"
        )

    async def run() -> dict[str, Any]:
        try:
            return await run_eval(rows, method, model)
        finally:
            await model.aclose()

    rows = load_rows(dataset, only)[::every]
    report = asyncio.run(run())
    if out is not None:
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(
        f"method={report['method']} n={report['n']} accuracy={report['accuracy']:.4f} "
        f"covered={report['covered']} accuracy_covered={report['accuracy_covered']:.4f} "
        f"unknown_rate={report['unknown_rate']:.4f} "
        f"hallucinated_quote_rate={report['hallucinated_quote_rate']:.4f} "
        f"latency_ms p50={report['latency_ms']['p50']} p95={report['latency_ms']['p95']}"
    )
    for disease, stats in report["per_disease"].items():
        if stats["covered"]:
            typer.echo(f"  {stats['accuracy']:.3f}  n={stats['n']:3d}  {disease}")
    typer.echo(f"  confusion: {report['confusion']}")
    if errors:
        for row, predicted in zip(rows, report["predictions"], strict=True):
            if predicted != (str(row["label"]).strip().lower() == "yes"):
                note = " ".join(str(row["patient note"]).split())
                verdict = "Yes" if predicted else "No"
                typer.echo(f"  ✗ {row['unique_id']} label={row['label']} predicted={verdict}")
                typer.echo(f"    {note[:300]}")
