"""``medqc eval notes|icd|cdi``: quality of the discharge-documentation agents on labelled records.

Records are the synthetic inpatient records of ``tests/data/records/{dev,sealed}`` (or any folder of
the same layout). ``notes``: completeness (required sections filled), fact-consistency rate, unsupported-
sentence rate. ``icd``: primary top-1/top-3, secondary-code micro-F1. ``cdi``: precision (and recall) on
the labelled gaps. ``medqc eval --dataset …`` keeps evaluating the quality-control path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Context
from typer.core import TyperGroup

from agents.cdi.review import gaps
from agents.consistency.checks import validate_draft
from agents.drafting.drafter import draft_summary
from agents.drafting.labelled import LabelledRecord, load_records
from agents.icd.suggest import suggest
from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from knowledge_base.icd.index import IcdIndex, index_for
from knowledge_base.icd.table import load_table

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


def evaluate_notes(records: list[LabelledRecord], index: IcdIndex | None = None) -> dict[str, Any]:
    index = index or _index()
    complete = sentences = unverified = checked = inconsistent = flagged = 0
    incomplete: list[str] = []
    for labelled in records:
        record = _record(labelled)
        draft = draft_summary(record, suggest(record, index))
        report = validate_draft(draft, record)
        complete += draft.complete
        if not draft.complete:
            incomplete.append(f"{labelled.id}: {', '.join(draft.missing)}")
        sentences += len(draft.sentences()) + draft.unverified
        unverified += draft.unverified
        checked += report.checked
        inconsistent += report.inconsistent
        flagged += len(report.issues)
    n = len(records)
    return {
        "n": n,
        "completeness": round(complete / n, 4),
        "fact_consistency_rate": round(1 - inconsistent / checked, 4) if checked else 1.0,
        "facts_checked": checked,
        "issues": flagged,
        "unsupported_sentence_rate": round(unverified / sentences, 4) if sentences else 0.0,
        "sentences": sentences,
        "incomplete": incomplete,
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
    app.command("notes")(_run("notes", evaluate_notes))
    app.command("icd")(_run("icd", evaluate_icd))
    app.command("cdi")(_run("cdi", evaluate_cdi))
    return app
