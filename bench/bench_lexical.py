"""Cases per second of the lexical $qc-evaluate path over a CMQCIC jsonl (default: the dev split).

    .venv/bin/python bench/bench_lexical.py [--dataset ../shared/data/cmqcic/dev.jsonl] [--repeat 3]

Only rows whose indicator has a catalog spec are timed (the others have nothing to evaluate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from agents.methods import policy_for
from agents.qc_evaluate import RuleOracle, qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog import spec_for
from medqc.commands.eval_cmd import load_rows, row_bundle

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cmqcic" / "dev.jsonl"


async def bench(dataset: Path, repeat: int) -> dict[str, float]:
    rows = [r for r in load_rows(dataset) if spec_for(str(r["unique_id"])) is not None]
    policy = policy_for("lexical")
    cases = [
        (record_from_resources(row_bundle(r, i)), spec_for(str(r["unique_id"]))) for i, r in enumerate(rows)
    ]
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for _ in range(repeat):
        for record, spec in cases:
            assert spec is not None
            await qc_evaluate(
                record, measures=[spec], denominator_asserted=True, policy=policy, judge=RuleOracle()
            )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    n = len(cases) * repeat
    return {
        "cases": n,
        "cases_per_second": round(n / wall, 1) if wall else 0.0,
        "cpu_ms_per_case": round(cpu * 1000 / n, 2) if n else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.dataset, args.repeat))))


if __name__ == "__main__":
    main()
