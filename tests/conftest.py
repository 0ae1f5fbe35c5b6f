"""Shared fixtures: settings per storage backend and live servers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from medqc.settings import Settings
from tests.support.live import live_server, reset_postgres

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
POSTGRES_URL = os.environ.get("MEDQC_TEST_POSTGRES_URL")

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not POSTGRES_URL, reason="MEDQC_TEST_POSTGRES_URL not set (.ci/postgres.sh start)"
            ),
        ],
    ),
]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED


def make_settings(backend: str, tmp: Path, **overrides: object) -> Settings:
    if backend == "postgres":
        assert POSTGRES_URL
        reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'medqc.sqlite'}"
    values: dict[str, object] = {"database_url": url, "log_level": "WARNING", "cds_auth": "off"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live MedQC on an empty database of the module's backend; yields the base URL."""
    with live_server(make_settings(backend, tmp_path_factory.mktemp(backend))) as base:
        yield base


@pytest.fixture(scope="session")
async def catalog_engine():  # type: ignore[no-untyped-def]
    """The catalog indicators on a real CQL engine (two Node workers), shared by the session. The ELM
    cache is the project's (content-addressed, so sharing it with the live test servers is safe)."""
    from measures.catalog.evaluation import CatalogEngine
    from measures.engine import CqlEngine

    cache = Path(__file__).resolve().parents[1] / "var" / "elm-cache"
    cql = CqlEngine(node=None, timeout_s=300, elm_cache_dir=cache, processes=2)
    yield CatalogEngine(cql)
    await cql.close()


# --- no patient data in any log line of the whole suite ---------------------------------------------

#: What must never reach a log: the demo patient's name, MRN, birth date and fragments of its notes.
_PATIENT_MARKERS = ("张建国", "AF-0001", "1956-04-12", "反复心悸、胸闷3年", "未规律抗凝")


class _LeakWatch(logging.Handler):
    """Every record logged during the session, checked for patient data (message, args, extras)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = " ".join([record.getMessage(), *(str(v) for v in record.__dict__.values())])
        except Exception:  # a record that cannot format is not ours to judge
            return
        if self.leaks or not any(m in text for m in _PATIENT_MARKERS):
            return
        self.leaks.append(f"{record.name}: {record.getMessage()[:200]}")


_leak_watch = _LeakWatch()


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_leak_watch)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_leak_watch)
    if _leak_watch.leaks:
        print(f"\nPATIENT DATA IN LOGS: {_leak_watch.leaks[:3]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
