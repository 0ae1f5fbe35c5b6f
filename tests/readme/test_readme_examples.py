"""The README's examples, run as written against a live server holding the demo data.

Every fenced block of README.md marked ``bash readme`` is run with bash (``set -euo pipefail``; ``curl``
fails on an HTTP error), after the demo's files are loaded as ``make demo`` loads them. The only
changes: the server's port for ``127.0.0.1:8080`` and the test's database for ``var/demo.sqlite``.
Each block's output must show what the README says it does.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from medqc import devkey
from medqc.demo import DEMO_DATA_DIR
from medqc.loader import load_paths
from medqc.services import build_services
from medqc.settings import Settings
from tests.support.live import live_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```bash readme\n(.*?)^```", re.MULTILINE | re.DOTALL)
PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 300 "$@"; }\n'

#: What each block's output shows, in README order (a new block needs its line here).
EXPECTED: list[tuple[str, ...]] = [
    ('"resourceType":"Bundle"', '"total":'),  # FHIR searches
    ('"resourceType":"Bundle"', '"MeasureReport"', "af-bleeding-risk", '"urn:cmqcic:indicator"'),
    ('"type":"summary"', '"type":"subject-list"', '"type":"individual"', "Encounter/demo-af-encounter"),
    ("分子", "分母", "af-rates.svg", "af-rates.html"),  # medqc evaluate
    ('"services"', '"cards"', '"urn:medqc:dev-ehr"'),  # CDS Hooks with medqc token
]


def readme_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class DemoServer:
    base: str
    database_url: str
    key: Path
    workdir: Path


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[DemoServer]:
    tmp = tmp_path_factory.mktemp("readme")
    key = tmp / "dev-ehr-key.json"
    issuer = devkey.create(key)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'demo.sqlite'}",
        log_level="WARNING",
        cds_issuers=devkey.issuers_value(issuer, key),
        cds_dev_key=str(key),
        elm_cache_dir=str(ROOT / "var" / "elm-cache"),
    )

    async def load() -> None:
        services = await build_services(settings)
        try:
            report = await load_paths(services.repo, [shared_data / "fhir" / "synthea", DEMO_DATA_DIR])
        finally:
            await services.close()
        assert not report.errors

    asyncio.run(load())
    with live_server(settings) as base:
        yield DemoServer(base, settings.database_url, key, tmp)


def test_every_marked_block_has_its_expectations() -> None:
    assert len(readme_blocks()) == len(EXPECTED)


@pytest.mark.parametrize("index", range(len(EXPECTED)))
def test_readme_block(demo_server: DemoServer, index: int) -> None:
    block = readme_blocks()[index]
    script = block.replace("127.0.0.1:8080", demo_server.base.removeprefix("http://")).replace(
        "sqlite+aiosqlite:///var/demo.sqlite", demo_server.database_url
    )
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "MEDQC_BASE_URL": demo_server.base,
        "MEDQC_DATABASE_URL": demo_server.database_url,
        "MEDQC_CDS_DEV_KEY": str(demo_server.key),
        "MEDQC_ELM_CACHE_DIR": str(ROOT / "var" / "elm-cache"),
        "MEDQC_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        ["bash", "-c", PRELUDE + script],
        cwd=demo_server.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, (
        f"block {index} failed:\n{script}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
    for expected in EXPECTED[index]:
        assert expected in done.stdout, f"block {index}: {expected!r} not in its output"
