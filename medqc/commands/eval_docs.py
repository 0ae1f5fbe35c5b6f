"""``medqc eval notes|icd|cdi``: quality of the discharge-documentation agents on labelled records.

Records are the synthetic inpatient records of ``tests/data/records/{dev,sealed}`` (or any folder of
the same layout). ``notes``: completeness (required sections filled), fact-consistency rate, unsupported-
sentence rate; with ``--mode abstractive`` (a language model configured, ``MEDQC_LLM_BASE_URL``) the same
figures for the drafts the model rewrote, next to the extractive ones, plus what abstraction is for
(compression, the numbers kept) and what it costs (sentences dropped, sections left extractive, latency).
``icd``: primary top-1/top-3, secondary-code micro-F1. ``cdi``: precision (and recall) on the labelled
gaps. ``medqc eval --dataset …`` keeps evaluating the quality-control path.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Context
from typer.core import TyperGroup

from agents.cdi.review import gaps
from agents.consistency.checks import validate_draft
from agents.drafting.abstractive import AbstractiveDrafter
from agents.drafting.drafter import Draft, draft_summary, verified
from agents.drafting.labelled import LabelledRecord, load_records
from agents.icd.suggest import suggest
from agents.llm.gateway import gateway_from_settings
from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from knowledge_base.icd.index import IcdIndex, index_for
from knowledge_base.icd.table import load_table
from medqc.settings import Settings

RECORDS_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "records"
SPLITS = ("dev", "sealed")

#: The quality gate (source design's first gate), checked on the sealed split by the test suite.
GATE = {
    "icd.primary_top1": 0.70,
    "icd.primary_top3": 0.85,
    "icd.secondary_micro_f1": 0.55,
    "notes.completeness": 1.0,
    "notes.unsupported_sentence_rate": 0.0,
}


def _record(labelled: LabelledRecord) -> EncounterRecord:
    return record_from_resources(labelled.resources())


def _index() -> IcdIndex:
    return index_for(load_table())


def evaluate_icd(records: list[LabelledRecord], index: IcdIndex | None = None) -> dict[str, Any]:
    index = index or _index()
    top1 = top3 = tp = fp = fn = 0
    errors: list[dict[str, Any]] = []
    for labelled in records:
        suggestions = suggest(_record(labelled), index)
        primary = [s.entry.code for s in suggestions if s.role == "primary"]
        secondary = {s.entry.code for s in suggestions if s.role == "secondary"}
        top1 += primary[:1] == [labelled.primary]
        top3 += labelled.primary in primary[:3]
        tp += len(secondary & labelled.secondary)
        fp += len(secondary - labelled.secondary)
        fn += len(labelled.secondary - secondary)
        if primary[:1] != [labelled.primary] or secondary != labelled.secondary:
            errors.append(
                {
                    "record": labelled.id,
                    "primary": [labelled.primary, primary[:3]],
                    "missed": sorted(labelled.secondary - secondary),
                    "extra": sorted(secondary - labelled.secondary),
                }
            )
    n = len(records)
    return {
        "n": n,
        "primary_top1": round(top1 / n, 4),
        "primary_top3": round(top3 / n, 4),
        "secondary_micro_f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 1.0,
        "secondary": {"tp": tp, "fp": fp, "fn": fn},
        "errors": errors,
    }


@dataclass(slots=True)
class _NotesTally:
    n: int = 0
    complete: int = 0
    sentences: int = 0
    unverified: int = 0
    shown_unverified: int = 0
    checked: int = 0
    inconsistent: int = 0
    flagged: int = 0
    chars: int = 0
    incomplete: list[str] = field(default_factory=list)

    def add(self, record_id: str, draft: Draft, record: EncounterRecord) -> None:
        report = validate_draft(draft, record)
        notes = {n.reference: n.text for n in record.notes}
        self.n += 1
        self.complete += draft.complete
        if not draft.complete:
            self.incomplete.append(f"{record_id}: {', '.join(draft.missing)}")
        self.sentences += len(draft.sentences()) + draft.unverified
        self.unverified += draft.unverified
        self.shown_unverified += sum(not verified(s, notes) for s in draft.sentences())
        self.checked += report.checked
        self.inconsistent += report.inconsistent
        self.flagged += len(report.issues)
        self.chars += len(draft.text())

    def result(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "completeness": round(self.complete / self.n, 4) if self.n else 1.0,
            "fact_consistency_rate": round(1 - self.inconsistent / self.checked, 4) if self.checked else 1.0,
            "facts_checked": self.checked,
            "issues": self.flagged,
            "unsupported_sentence_rate": round(self.unverified / self.sentences, 4)
            if self.sentences
            else 0.0,
            "sentences": self.sentences,
            "shown_unverified": self.shown_unverified,
            "draft_chars": self.chars,
            "incomplete": self.incomplete,
        }


def evaluate_notes(records: list[LabelledRecord], index: IcdIndex | None = None) -> dict[str, Any]:
    index = index or _index()
    tally = _NotesTally()
    for labelled in records:
        record = _record(labelled)
        tally.add(labelled.id, draft_summary(record, suggest(record, index)), record)
    return tally.result()


_QUANTITY = re.compile(r"\d+(?:\.\d+)?(?:[A-Za-z%]+)?")


def _section_texts(draft: Draft, names: set[str]) -> dict[str, str]:
    return {s.name: "".join(x.text for x in s.sentences) for s in draft.sections if s.name in names}


async def evaluate_notes_abstractive(
    records: list[LabelledRecord], drafter: AbstractiveDrafter, index: IcdIndex | None = None
) -> dict[str, Any]:
    """The extractive and the abstractive drafts of the same records, and what the rewriting did.

    ``compression``: characters of the rewritten sections over the same sections extractive;
    ``quantity_retention``: the numbers with units of those extractive sections still in the rewrite;
    ``source_coverage``: their sentences cited by a kept rewritten sentence; latency per record.
    """
    index = index or _index()
    extractive, abstractive = _NotesTally(), _NotesTally()
    fallbacks: Counter[str] = Counter()
    targeted = rewritten = kept = dropped = 0
    chars_before = chars_after = quantities = retained = cited = quoted = 0
    latencies: list[float] = []
    model = prompt = None
    for labelled in records:
        record = _record(labelled)
        draft = draft_summary(record, suggest(record, index))
        started = time.perf_counter()
        rewrite = await drafter.rewrite(draft, record)
        latencies.append(time.perf_counter() - started)
        extractive.add(labelled.id, draft, record)
        abstractive.add(labelled.id, rewrite, record)
        model, prompt = rewrite.model or model, rewrite.prompt or prompt
        before = {s.name: s for s in draft.sections}
        for section in rewrite.sections:
            if section.name not in drafter.sections:
                continue
            targeted += 1
            dropped += section.dropped
            if section.mode != "abstractive":
                fallbacks[(section.fallback or "none").split(" ")[0]] += 1
                continue
            rewritten += 1
            kept += len(section.sentences)
            old = before[section.name]
            old_text = "".join(x.text for x in old.sentences)
            new_text = "".join(x.text for x in section.sentences)
            chars_before += len(old_text)
            chars_after += len(new_text)
            wanted = _QUANTITY.findall(old_text)
            quantities += len(wanted)
            retained += sum(q in new_text for q in wanted)
            sources = {span for x in section.sentences for span in x.sources}
            quoted += len(old.sentences)
            cited += sum(x.evidence in sources for x in old.sentences)
    ordered = sorted(latencies)
    return {
        "model": model,
        "prompt": prompt,
        "deadline_s": drafter.deadline_s,
        "extractive": extractive.result(),
        "abstractive": abstractive.result(),
        "sections": {
            "targeted": targeted,
            "rewritten": rewritten,
            "left_extractive": dict(sorted(fallbacks.items())),
        },
        "model_sentences": {
            "kept": kept,
            "dropped": dropped,
            "dropped_rate": round(dropped / (kept + dropped), 4) if kept + dropped else 0.0,
        },
        "rewritten_sections": {
            "compression": round(chars_after / chars_before, 4) if chars_before else None,
            "quantity_retention": round(retained / quantities, 4) if quantities else None,
            "source_coverage": round(cited / quoted, 4) if quoted else None,
        },
        "draft_length_ratio": round(abstractive.chars / extractive.chars, 4) if extractive.chars else None,
        "latency_s": {
            "mean": round(statistics.fmean(ordered), 2) if ordered else None,
            "median": round(statistics.median(ordered), 2) if ordered else None,
            "max": round(ordered[-1], 2) if ordered else None,
        },
    }


def evaluate_cdi(records: list[LabelledRecord]) -> dict[str, Any]:
    tp = fp = fn = 0
    errors: list[dict[str, Any]] = []
    for labelled in records:
        fired = {rule.id for rule, _ in gaps(_record(labelled))}
        tp += len(fired & labelled.cdi)
        fp += len(fired - labelled.cdi)
        fn += len(labelled.cdi - fired)
        if fired != labelled.cdi:
            errors.append(
                {
                    "record": labelled.id,
                    "extra": sorted(fired - labelled.cdi),
                    "missed": sorted(labelled.cdi - fired),
                }
            )
    return {
        "n": len(records),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "errors": errors,
    }


def _splits(data: Path, split: str) -> dict[str, list[LabelledRecord]]:
    names = SPLITS if split == "all" else (split,)
    return {name: load_records(data / name) for name in names}


def _print(kind: str, results: dict[str, dict[str, Any]], show_errors: bool, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    for split, result in results.items():
        figures = " ".join(
            f"{k}={v}" for k, v in result.items() if isinstance(v, int | float) and not isinstance(v, bool)
        )
        typer.echo(f"{kind} {split}: {figures}")
        if show_errors:
            for error in result.get("errors", []) + result.get("incomplete", []):
                typer.echo(f"  {json.dumps(error, ensure_ascii=False)}")


DataOption = Annotated[Path, typer.Option(help="folder holding dev/ and sealed/ record folders")]
SplitOption = Annotated[str, typer.Option(help="dev | sealed | all")]
ErrorsOption = Annotated[bool, typer.Option("--errors", help="list the misjudged records")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _run(kind: str, fn: Callable[[list[LabelledRecord]], dict[str, Any]]) -> Callable[..., None]:
    def command(
        data: DataOption = RECORDS_DIR,
        split: SplitOption = "all",
        errors: ErrorsOption = False,
        as_json: JsonOption = False,
    ) -> None:
        if split not in {*SPLITS, "all"}:
            raise typer.BadParameter(f"unknown split {split!r}; known: dev, sealed, all")
        results = {name: fn(records) for name, records in _splits(data, split).items()}
        _print(kind, results, errors, as_json)

    command.__doc__ = f"Evaluate the {kind} agent on the labelled records."
    return command


ModeOption = Annotated[
    str, typer.Option(help="extractive | abstractive (needs MEDQC_LLM_BASE_URL; compares both)")
]
LimitOption = Annotated[int | None, typer.Option(min=1, help="the first N records of each split")]
CacheOption = Annotated[Path | None, typer.Option(help="keep the model's answers in this folder")]


def notes_command(
    data: DataOption = RECORDS_DIR,
    split: SplitOption = "all",
    errors: ErrorsOption = False,
    as_json: JsonOption = False,
    mode: ModeOption = "extractive",
    limit: LimitOption = None,
    cache_dir: CacheOption = None,
) -> None:
    """Evaluate the notes agent on the labelled records (drafts extractive, or rewritten by the model)."""
    if split not in {*SPLITS, "all"}:
        raise typer.BadParameter(f"unknown split {split!r}; known: dev, sealed, all")
    if mode not in {"extractive", "abstractive"}:
        raise typer.BadParameter(f"unknown mode {mode!r}; known: extractive, abstractive")
    splits = {name: records[:limit] for name, records in _splits(data, split).items()}
    if mode == "extractive":
        _print("notes", {name: evaluate_notes(records) for name, records in splits.items()}, errors, as_json)
        return
    settings = Settings()
    gateway = gateway_from_settings(settings, cache_dir=cache_dir)
    if gateway is None:
        raise typer.BadParameter("--mode abstractive needs a language model: set MEDQC_LLM_BASE_URL")
    drafter = AbstractiveDrafter(gateway, settings.draft_llm_deadline_s)

    async def run() -> dict[str, dict[str, Any]]:
        try:
            return {name: await evaluate_notes_abstractive(rs, drafter) for name, rs in splits.items()}
        finally:
            await gateway.aclose()

    results = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    for name, result in results.items():
        for kind in ("extractive", "abstractive"):
            _print(f"notes {kind}", {name: result[kind]}, errors, False)
        summary = {k: v for k, v in result.items() if k not in {"extractive", "abstractive"}}
        typer.echo(f"  {json.dumps(summary, ensure_ascii=False)}")


class _DefaultToQc(TyperGroup):
    """``medqc eval notes|icd|cdi`` are subcommands; anything else (``--dataset …``) is the QC evaluation."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in {"--help", "-h"}:
            args = ["qc", *args]
        return super().parse_args(ctx, args)


def eval_app(qc_command: Callable[..., None]) -> typer.Typer:
    """The ``eval`` group: the documentation subcommands plus the quality-control evaluation as ``qc``."""
    app = typer.Typer(
        cls=_DefaultToQc, help="Evaluate MedQC's agents on labelled data.", no_args_is_help=True
    )
    app.command("qc")(qc_command)
    app.command("notes")(notes_command)
    app.command("icd")(_run("icd", evaluate_icd))
    app.command("cdi")(_run("cdi", evaluate_cdi))
    return app
