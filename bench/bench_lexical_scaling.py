"""Time of the lexical path against note size: a 1 KB (typical), 10 KB, 100 KB and 1 MB note.

    .venv/bin/python bench/bench_lexical_scaling.py [--indicator KEY] [--sizes 1000,10000,100000,1000000]

The note repeats realistic clauses of a Chinese inpatient record (titles, headings, drugs, procedures,
pathology, negations, numbers) up to the size in UTF-8 bytes. For each size it prints the CPU seconds of
analysing the note (sections, sentences, clauses) and of one ``$qc-evaluate`` of the indicator with the
most lexical facts (the whole lexical path: every fact, its polarity, the evidence check, the report).
Linear processing shows as time growing in proportion to the size; the target is a 1 MB note < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from agents.lexical.document import analyse
from agents.lexical.normalize import fold_for_matching
from agents.methods import policy_for
from agents.qc_evaluate import RuleOracle, qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog import indicator_specs, spec_for
from measures.catalog.schema import IndicatorSpec
from medqc.commands.eval_cmd import row_bundle

CLAUSES = (
    "入院记录：主诉：反复胸闷气短3年，加重2天。",
    "现病史：患者3年前无明显诱因出现胸闷，活动后加重，休息可缓解，未予重视。",
    "既往史：否认高血压、糖尿病病史，2年前行阑尾切除术。",
    "查体：T 36.5℃，P 78次/分，R 18次/分，BP 132/80mmHg，双肺呼吸音清，未闻及干湿啰音。",
    "辅助检查：血常规、肝肾功能、凝血功能未见明显异常，心电图示窦性心律。",
    "盆腔超声提示子宫肌瘤可能，大小约5.2cm×4.8cm，CA125 18U/ml。",
    "诊疗经过：入院后完善相关检查，予阿司匹林肠溶片100mg qd、阿托伐他汀钙片20mg qn口服。",
    "于全麻下行腹腔镜下子宫肌瘤剔除术，术中出血约100ml，术后予头孢呋辛预防感染。",
    "术后病理：（子宫）平滑肌瘤，切缘未见病变，淋巴结未见转移（0/12）。",
    "胸部CT平扫：双肺未见明显异常；头颅MRI：未见急性梗死灶。",
    "患者拒绝行胃镜检查，建议出院后择期复查。",
    "出院记录：神志清，精神可，切口愈合良好，无发热。",
    "出院医嘱：1.低盐低脂饮食；2.继续口服美托洛尔缓释片47.5mg qd；3.1个月后门诊复查。",
)


def note_of(size: int) -> str:
    """Clauses repeated up to ``size`` UTF-8 bytes."""
    out: list[str] = []
    total = 0
    i = 0
    while True:
        clause = CLAUSES[i % len(CLAUSES)]
        n = len(clause.encode("utf-8")) + 1
        if total + n > size:
            break
        out.append(clause)
        total += n
        i += 1
    return "\n".join(out)


def heaviest() -> IndicatorSpec:
    return max(indicator_specs(), key=lambda s: sum(1 for f in s.all_facts if f.lexicon))


async def measure(spec: IndicatorSpec, size: int) -> dict[str, float | int]:
    text = note_of(size)
    policy = policy_for("lexical")
    cpu0 = time.process_time()
    analyse(fold_for_matching(text))
    cpu1 = time.process_time()
    record = record_from_resources(row_bundle({"patient note": text}, 0))
    await qc_evaluate(
        record, measures=[spec], denominator_asserted=True, policy=policy, judge=RuleOracle()
    )
    cpu2 = time.process_time()
    return {
        "bytes": len(text.encode("utf-8")),
        "analyse_s": round(cpu1 - cpu0, 4),
        "qc_evaluate_s": round(cpu2 - cpu1, 4),
    }


async def bench(spec: IndicatorSpec, sizes: list[int]) -> list[dict[str, float | int]]:
    await measure(spec, 2000)  # warm-up: lexicons loaded and compiled once
    return [await measure(spec, size) for size in sizes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--indicator", default=None, help="indicator key (default: most lexical facts)")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    spec = spec_for(args.indicator) if args.indicator else heaviest()
    if spec is None:
        raise SystemExit(f"no indicator {args.indicator!r}")
    rows = asyncio.run(bench(spec, sizes))
    for row in rows:
        print(
            f"{row['bytes']:>9} bytes  analyse {row['analyse_s']:.4f}s  "
            f"qc-evaluate {row['qc_evaluate_s']:.4f}s"
        )
    print(
        json.dumps({"indicator": spec.key, "facts": len(spec.all_facts), "sizes": rows}, ensure_ascii=False)
    )


if __name__ == "__main__":
    main()
