"""A deployment pins the knowledge base, prompts and templates it approved: a process with other files
refuses to start; the versions a process judges with are on /healthz and from ``medqc versions``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agents.orchestration.versions import VersionPinMismatch, check_pins, current_versions
from tests.conftest import make_settings
from tests.support.live import live_server

ROOT = Path(__file__).resolve().parents[2]


def test_a_pin_holds_by_whole_version_or_digest_and_names_what_differs() -> None:
    now = current_versions()
    check_pins({"kb": now.kb, "prompts": now.prompts.partition("+")[2], "templates": None}, now)
    with pytest.raises(VersionPinMismatch) as refused:
        check_pins({"kb": "kb+000000000000", "prompts": now.prompts, "templates": "templates+1"}, now)
    message = str(refused.value)
    assert "MEDQC_PIN_KB=kb+000000000000" in message
    assert now.kb in message
    assert "MEDQC_PIN_TEMPLATES=templates+1" in message
    assert "MEDQC_PIN_PROMPTS" not in message


def _medqc(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEDQC_PIN_")} | env
    return subprocess.run(
        [sys.executable, "-m", "medqc", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_refuses_to_start_on_other_versions_than_pinned(tmp_path: Path) -> None:
    refused = _medqc(
        "serve",
        "--no-temporal",
        "--port",
        "1",
        MEDQC_PIN_KB="kb+000000000000",
        MEDQC_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'medqc.sqlite'}",
    )
    assert refused.returncode == 2, refused.stderr
    assert "MEDQC_PIN_KB=kb+000000000000 but this build has kb+" in refused.stderr
    assert not (tmp_path / "medqc.sqlite").exists()  # refused before touching the database


def test_versions_command_prints_what_to_pin_and_fails_on_a_broken_pin() -> None:
    shown = _medqc("versions")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["versions"] == current_versions().as_dict()
    broken = _medqc("versions", MEDQC_PIN_PROMPTS="prompts+0")
    assert broken.returncode == 1
    assert "MEDQC_PIN_PROMPTS=prompts+0" in json.loads(broken.stdout)["mismatch"]


def test_a_pinned_server_starts_and_reports_its_versions(tmp_path: Path) -> None:
    now = current_versions()
    settings = make_settings(
        "sqlite", tmp_path, pin_kb=now.kb, pin_prompts=now.prompts, pin_templates=now.templates
    )
    with live_server(settings) as base:
        health = httpx.get(f"{base}/healthz", timeout=30)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "versions": now.as_dict()}
