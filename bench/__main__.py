"""``make bench``: run every benchmark, keep each result in ``bench/results/<name>.json``, print a summary.

Each benchmark measures its own baseline in the same run (these machines are noisy): store search on one
bundle vs all bundles, the CQL batch path vs one call per patient, the lexical path's cases per second,
and the CDS hook at 1 and 8 concurrent clients.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BENCHES: list[tuple[str, list[str]]] = [
    ("store", ["bench/bench_store.py"]),
    ("lexical", ["bench/bench_lexical.py"]),
    ("measures", ["bench/bench_measures.py"]),
    ("ecqm", ["bench/bench_ecqm.py"]),
    ("cds", ["bench/bench_cds.py"]),
    ("orchestration", ["bench/bench_orchestration.py"]),
    ("hook-store", ["bench/bench_hook_store.py"]),
    ("hook-long", ["bench/bench_hook_long.py"]),
    ("load", ["bench/bench_load.py"]),
    ("indicators", ["bench/bench_indicators.py", "--stays", "10000"]),
    ("cql-population", ["bench/bench_cql_population.py"]),
    ("population", ["bench/bench_population.py"]),
]


def _last_json(text: str) -> dict[str, Any] | None:
    """The last top-level JSON object a benchmark printed."""
    start = text.rfind("\n{")
    start = 0 if start < 0 and text.startswith("{") else start
    for candidate in (text[start:], text):
        try:
            value = json.loads(candidate.strip())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def run(name: str, argv: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    elapsed = round(time.perf_counter() - started, 1)
    out = RESULTS / f"{name}.json"
    result = _last_json(proc.stdout)
    if proc.returncode != 0 or result is None:
        print(f"[{name}] failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}", file=sys.stderr)
        return {"benchmark": name, "error": proc.returncode, "seconds": elapsed}
    if not out.exists() or out.stat().st_mtime < time.time() - elapsed - 5:
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"[{name}] {elapsed}s → {out.relative_to(ROOT)}")
    return result


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    only = set(sys.argv[1:])
    for name, argv in BENCHES:
        if not only or name in only:
            run(name, argv)


if __name__ == "__main__":
    main()
