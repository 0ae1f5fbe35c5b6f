from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from medqc.commands.eval_cmd import eval_command

ROWS = [
    {
        "unique_id": "房颤（AF）质控指标_房颤患者出血风险评估率",
        "patient note": "诊断：房颤。HAS-BLED评分2分。",
        "label": "Yes",
    },
    {
        "unique_id": "房颤（AF）质控指标_房颤患者出血风险评估率",
        "patient note": "诊断：房颤。予华法林抗凝。",
        "label": "No",
    },
    {
        "unique_id": "脑梗死（首次住院）（STK）质控指标_脑梗死患者神经功能缺损评估率",
        "patient note": "查体：神志清。NIHSS评分：2分。",
        "label": "Yes",
    },
    {"unique_id": "no-such-indicator_x", "patient note": "无", "label": "No"},
]


def test_eval_command_writes_report(tmp_path: Path) -> None:
    dataset = tmp_path / "d.jsonl"
    dataset.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS), encoding="utf-8")
    out = tmp_path / "r.json"
    app = typer.Typer()
    app.command()(eval_command)
    result = CliRunner().invoke(app, ["--dataset", str(dataset), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in (
        "method",
        "n",
        "accuracy",
        "unknown_rate",
        "hallucinated_quote_rate",
        "latency_ms",
        "llm_tokens",
        "per_indicator",
    ):
        assert key in report
    assert report["n"] == 4
    assert report["accuracy"] == 1.0
    assert report["covered"] == 3
    assert set(report["latency_ms"]) >= {"p50", "p95"}
    assert report["llm_tokens"] == {"prompt": 0, "completion": 0}
    assert report["per_indicator"]["房颤（AF）质控指标_房颤患者出血风险评估率"] == {
        "n": 2,
        "accuracy": 1.0,
        "covered": True,
    }
