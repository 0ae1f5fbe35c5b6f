"""The image recipe: Node from the official image, MEDQC_BASE_URL set and documented, var/ a volume, the
knowledge-base index built in, a non-root user, and nothing outside the repository in its context."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.startswith("#")
]


def instructions(keyword: str) -> list[str]:
    return [i for i in INSTRUCTIONS if i.split()[0] == keyword]


def test_node_comes_from_the_official_image() -> None:
    stages = instructions("FROM")
    assert stages[0].startswith("FROM node:20")
    assert any("COPY --from=node /usr/local/bin/node" in i for i in INSTRUCTIONS)
    assert not re.search(r"curl[^|]*\|\s*(ba)?sh", DOCKERFILE)
    assert "nodesource" not in DOCKERFILE


def test_base_url_is_set_and_documented() -> None:
    env = " ".join(instructions("ENV"))
    assert "MEDQC_BASE_URL=" in env
    assert re.search(r"#.*MEDQC_BASE_URL is the URL clients reach MedQC at", DOCKERFILE)


def test_var_is_a_volume_and_the_user_is_not_root() -> None:
    assert instructions("VOLUME") == ['VOLUME ["/home/medqc/var"]']
    env = " ".join(instructions("ENV"))
    assert "MEDQC_DATABASE_URL=sqlite+aiosqlite:////home/medqc/var/" in env
    assert "MEDQC_ELM_CACHE_DIR=/home/medqc/var/" in env
    (user,) = instructions("USER")
    assert user.split()[1].split(":")[0] not in {"0", "root"}


def test_knowledge_base_index_is_prebuilt_where_the_service_reads_it() -> None:
    assert any("MEDQC_KB_DIR=/opt/medqc/kb" in i and "medqc kb build" in i for i in instructions("RUN"))
    assert "MEDQC_KB_DIR=/opt/medqc/kb" in " ".join(instructions("ENV"))


def test_the_cql_engine_installs_from_the_lockfile() -> None:
    assert any("npm ci" in i and "--omit=dev" in i for i in instructions("RUN"))


def test_build_context_leaves_out_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "var", "measures/cql/node_modules", "tests"} <= ignored
    for copied in instructions("COPY"):
        parts = copied.split()
        if parts[1].startswith("--from"):
            continue
        for source in parts[1:-1]:
            assert source not in ignored, f"{source} is copied but excluded from the build context"
