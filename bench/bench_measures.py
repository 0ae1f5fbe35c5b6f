"""Benchmark: population ``$evaluate-measure`` over N synthetic patients, batch vs one call per patient,
before and after the engine work, all measured in one run (the machine is shared: figures taken at
different times are not comparable).

    .venv/bin/python bench/bench_measures.py [--patients 1000] [--per-patient-sample 50]

Writes ``bench/results/measures.json``. The batch path is :func:`measures.evaluate.evaluate_measure`
(one worker call for every patient); the one-call-per-patient baseline calls the same function with
``subject=Patient/x`` on a sample of the same patients, extrapolated per patient.

- ``after``: the shipped path: the worker prepares the measure bundle once per content hash and
  runs cql-execution + fqm-execution's population logic without clause-level results; the PCI
  indicator's CQL retrieves once per patient and skips the engine's deep-hash ``distinct``.
- ``before``: fqm-execution's stock ``Calculator.calculate`` with the whole measure bundle every
  call (``engine="fqm"``), on the PCI indicator's CQL as it was before (below, verbatim but for the
  library names). Patient data gathering is the current (chunked OR search) one in both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measures.builtin import builtin_resources, library_resource  # noqa: E402
from measures.engine import CqlEngine  # noqa: E402
from measures.engine.calculate import Engine  # noqa: E402
from measures.evaluate import evaluate_measure  # noqa: E402
from tests.measures import factories as f  # noqa: E402
from tests.measures.memory_repo import MemoryRepository  # noqa: E402

MEASURE = "medqc-pci-angiographic-success"
BASELINE_MEASURE = "bench-pci-baseline"

# The PCI indicator's CQL before this work (retrieves inside per-encounter functions).
BASELINE_PCI_CQL = """library MedQCPCIBaseline version '1.0.0'

using FHIR version '4.0.1'

include FHIRHelpers version '4.0.1' called FHIRHelpers
include MedQCCommonBaseline version '1.0.0' called Common

codesystem "MedQCFacts": 'http://medqc.org/fhir/CodeSystem/medqc-facts'

valueset "Coronary Stent Implantation": 'http://medqc.org/fhir/ValueSet/coronary-stent-implantation'
valueset "PTCA": 'http://medqc.org/fhir/ValueSet/ptca'

code "Residual stenosis": 'residual-stenosis' from "MedQCFacts" display '术后即刻残余狭窄'
code "TIMI flow grade": 'timi-flow-grade' from "MedQCFacts" display '术后即刻TIMI血流分级'

parameter "Measurement Period" Interval<DateTime>

context Patient

define function "Has Stent"(E Encounter):
  exists ([Procedure: "Coronary Stent Implantation"] P where Common."Performed During"(P, E))

define function "Has PTCA"(E Encounter):
  exists ([Procedure: "PTCA"] P where Common."Performed During"(P, E))

// The worst (largest) residual stenosis recorded after PCI during the stay.
define function "Residual Stenosis"(E Encounter):
  Max(
    [Observation: "Residual stenosis"] O
      where Common."Recorded During"(O, E)
      return FHIRHelpers.ToQuantity(O.value as FHIR.Quantity)
  )

define function "TIMI Grades"(E Encounter):
  [Observation: "TIMI flow grade"] O
    where Common."Recorded During"(O, E)
    return FHIRHelpers.ToInteger(O.value as FHIR.integer)

// Every TIMI grade recorded is 3 (grade 3 is the highest, so the minimum must be 3); none recorded fails.
define function "TIMI 3 Flow"(E Encounter):
  Min("TIMI Grades"(E)) = 3

define "Initial Population":
  Common."Inpatient Encounters" E
    where "Has Stent"(E) or "Has PTCA"(E)

define "Denominator":
  "Initial Population"

define "Denominator Exclusions":
  "Denominator" E
    where Common."Age At Admission"(E) < 18

define "Numerator":
  "Denominator" E
    where (
        ("Has Stent"(E) and "Residual Stenosis"(E) < 20 '%')
          or (not "Has Stent"(E) and "Has PTCA"(E) and "Residual Stenosis"(E) < 50 '%')
      )
      and "TIMI 3 Flow"(E)
"""


def baseline_resources() -> list[dict[str, Any]]:
    """The baseline PCI Measure + Libraries (old CQL; MedQCCommon without ``return all``)."""
    common_path = ROOT / "measures" / "builtin" / "cql" / "MedQCCommon.cql"
    common = common_path.read_text(encoding="utf-8")
    old_common = common.replace("library MedQCCommon version", "library MedQCCommonBaseline version")
    old_common = old_common.replace("\n    return all E\n", "\n", 1)
    leftover = re.search(r"^\s*return all", old_common, re.MULTILINE)
    assert leftover is None, "MedQCCommon changed: update the baseline"
    measure = next(r for r in builtin_resources() if r.get("id") == MEASURE)
    baseline_lib = library_resource(BASELINE_PCI_CQL)
    measure = {
        **measure,
        "id": BASELINE_MEASURE,
        "url": f"http://medqc.org/fhir/Measure/{BASELINE_MEASURE}",
        "library": [baseline_lib["url"]],
    }
    return [measure, baseline_lib, library_resource(old_common)]


def synthetic(repo: MemoryRepository, n: int) -> list[str]:
    ids = []
    for i in range(n):
        pid = f"bench-{i}"
        eid = f"{pid}-enc"
        repo.put(f.patient(pid, birth=f"{1940 + i % 50}-01-01"))
        repo.put(f.encounter(eid, pid))
        repo.put(f.procedure(f"{pid}-p", pid, eid, "36.0700" if i % 3 else "00.6600"))
        repo.put(f.observation(f"{pid}-rs", pid, eid, "residual-stenosis", value=f.percent(i % 60)))
        repo.put(
            f.observation(
                f"{pid}-timi", pid, eid, "timi-flow-grade", value={"valueInteger": 3 - (i % 7 == 0)}
            )
        )
        ids.append(pid)
    return ids


def worker_cpu_seconds(cql: CqlEngine) -> float | None:
    """CPU seconds (user + system) the Node workers have used, where /proc tells."""
    total = 0.0
    for worker in cql.workers:
        if worker.pid is None:
            continue
        try:
            fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _cpu_delta(cql: CqlEngine, start: float | None) -> float | None:
    end = worker_cpu_seconds(cql)
    return None if start is None or end is None else round(end - start, 2)


async def measure_mode(
    repo: MemoryRepository,
    ids: list[str],
    *,
    cql: CqlEngine,
    measure_id: str,
    engine: Engine,
    sample: int,
) -> dict[str, Any]:
    args: dict[str, Any] = {
        "measure_id": measure_id,
        "period_start": "2024",
        "period_end": "2024",
        "engine": engine,
        "cql": cql,
    }
    # warm up: translation, worker start, measure preparation
    await evaluate_measure(repo, **args, report_type="subject", subject=f"Patient/{ids[0]}")
    cpu0 = worker_cpu_seconds(cql)
    t0 = time.perf_counter()
    report = await evaluate_measure(repo, **args, report_type="population", subject=None)
    batch_s = time.perf_counter() - t0
    batch_cpu = _cpu_delta(cql, cpu0)
    cpu1 = worker_cpu_seconds(cql)
    t1 = time.perf_counter()
    for pid in ids[:sample]:
        await evaluate_measure(repo, **args, report_type="subject", subject=f"Patient/{pid}")
    single_s = (time.perf_counter() - t1) / sample
    single_cpu = _cpu_delta(cql, cpu1)
    n = len(ids)
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    return {
        "measure": measure_id,
        "engine": engine,
        "batch_seconds": round(batch_s, 3),
        "batch_patients_per_second": round(n / batch_s, 1),
        "batch_worker_cpu_seconds": batch_cpu,
        "per_patient_call_seconds": round(single_s, 4),
        "per_patient_call_worker_cpu_seconds": None if single_cpu is None else round(single_cpu / sample, 4),
        "per_patient_sample": sample,
        "per_patient_extrapolated_seconds": round(single_s * n, 2),
        "speedup_batch_vs_per_patient": round(single_s * n / batch_s, 1),
        "population_counts": counts,
    }


async def run(n: int, sample: int, before_sample: int) -> dict[str, Any]:
    repo = MemoryRepository([*builtin_resources(), *baseline_resources()])
    ids = synthetic(repo, n)
    load_before = os.getloadavg()
    # one worker process: the batch and per-patient figures measure one engine, not the pool
    cql = CqlEngine(node=None, timeout_s=1800, elm_cache_dir=ROOT / "var" / "elm-cache", processes=1)
    try:
        before = await measure_mode(
            repo, ids, cql=cql, measure_id=BASELINE_MEASURE, engine="fqm", sample=before_sample
        )
        after = await measure_mode(repo, ids, cql=cql, measure_id=MEASURE, engine="prepared", sample=sample)
    finally:
        await cql.close()
    if before["population_counts"] != after["population_counts"]:
        counts = before["population_counts"], after["population_counts"]
        raise SystemExit(f"before/after disagree: {counts[0]} vs {counts[1]}")
    return {
        "measure": MEASURE,
        "patients": n,
        "cpu_count": os.cpu_count(),
        "load_average_1m": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
        # the shipped path's figures, at top level
        "batch_seconds": after["batch_seconds"],
        "batch_patients_per_second": after["batch_patients_per_second"],
        "per_patient_call_seconds": after["per_patient_call_seconds"],
        "speedup_batch_vs_per_patient": after["speedup_batch_vs_per_patient"],
        "batch_speedup_after_vs_before": round(before["batch_seconds"] / after["batch_seconds"], 1),
        "goal": {"speedup_min": 20, "batch_seconds_max_for_1000": 30},
        "population_counts": after["population_counts"],
        "before": before,
        "after": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--per-patient-sample", type=int, default=50)
    parser.add_argument("--before-per-patient-sample", type=int, default=20)
    args = parser.parse_args()
    result = asyncio.run(run(args.patients, args.per_patient_sample, args.before_per_patient_sample))
    out = ROOT / "bench" / "results" / "measures.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
