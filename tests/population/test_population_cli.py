"""``medqc population rate`` refuses a malformed period before it starts anything."""

from __future__ import annotations

from typer.testing import CliRunner

from medqc.cli import app


def test_a_malformed_period_is_refused_with_exit_2() -> None:
    result = CliRunner().invoke(
        app, ["population", "rate", "--measure", "stemi-reperfusion-24h", "--period", "2026-13-01/2026-12-31"]
    )
    assert result.exit_code == 2
    assert "--period 2026-13-01/2026-12-31" in result.output
    assert "expected START/END" in result.output


def test_workers_are_bounded() -> None:
    result = CliRunner().invoke(
        app, ["population", "rate", "--measure", "x", "--period", "2026/2026", "--workers", "0"]
    )
    assert result.exit_code == 2
