"""Start a disease spec from indicators.json: ``python -m measures.catalog.scaffold <slug> <key prefix>``.

Writes ``specs/<slug>.yaml`` with every indicator of the disease, its texts, the benchmark's facts and
rules as comments, and TODO facts/rules for the author to replace (the schema test fails until done).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import yaml

from measures.catalog.loader import SPEC_DIR

DEFAULT_INDICATORS = Path("../shared/data/cmqcic/indicators.json")


def _comment(lines: list[str], prefix: str = "    # ") -> str:
    return "".join(f"{prefix}{line}\n" for line in lines)


def scaffold(slug: str, prefix: str, indicators: dict[str, Any]) -> str:
    keys = [k for k in indicators if k.startswith(prefix)]
    if not keys:
        raise SystemExit(f"no indicator key starts with {prefix!r}")
    disease = keys[0].split("_", 1)[0]
    out = [
        f"# {disease}: {len(keys)} indicators. Scaffolded; replace every TODO.\n",
        yaml.safe_dump(
            {"slug": slug, "disease": disease, "version": "0.1.0", "lexicon": slug},
            allow_unicode=True,
            sort_keys=False,
        ),
        "indicators:\n",
    ]
    for n, key in enumerate(keys, 1):
        d = indicators[key]
        title = key.split("_", 1)[1]
        text = {k: d[k] for k in ("definition", "numerator", "denominator") if d.get(k)}
        if d.get("other"):
            text["other"] = d["other"]
        item = {
            "key": key,
            "id": f"{slug}-{n}",
            "core": "核心指标" in key,
            "title": re.sub(r"（核心指标）$", "", title),
            "text": text,
            "denominator": {"icd10": [], "terms": []},
        }
        block = yaml.safe_dump([item], allow_unicode=True, sort_keys=False, width=200)
        out.append(re.sub(r"^", "  ", block, flags=re.M).rstrip(" "))
        out.append(_comment(["benchmark facts:", *d.get("facts", [])]))
        out.append(
            _comment(
                [
                    "benchmark rules:",
                    *(
                        f"{r['natural language']} | {r['symbolic language']}"
                        for r in d.get("logical_rules", [])
                    ),
                ]
            )
        )
        out.append(
            "    facts:\n      - id: todo\n        question: TODO\n        evidence: TODO\n"
            "        lexicon: todo\n    rule: todo and TODO_replace_me\n\n"
        )
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("slug")
    parser.add_argument("prefix", help="key prefix in indicators.json, e.g. 肺癌")
    parser.add_argument("--indicators", type=Path, default=DEFAULT_INDICATORS)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    target = SPEC_DIR / f"{args.slug}.yaml"
    if target.exists() and not args.force:
        raise SystemExit(f"{target} exists (use --force)")
    indicators = json.loads(args.indicators.read_text(encoding="utf-8"))
    target.write_text(scaffold(args.slug, args.prefix, indicators), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
